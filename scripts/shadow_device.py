#!/usr/bin/env python3
"""A device that keeps its classic shadow in sync, with the AWS IoT Device SDK v2 for Python.

It follows the SDK's own shadow sample: subscribe to update/accepted, update/rejected,
update/delta, get/accepted, get/rejected and update/documents, request the shadow, and answer
every delta by reporting the desired values. Against AWS IoT you would connect with
`awsiot.mqtt_connection_builder.mtls_from_path(...)`; here it is plain MQTT on loopback.

    pip install awsiotsdk
    python3 scripts/shadow_device.py --endpoint 127.0.0.1 --port 1883 --thing lamp-1

Prints one machine-readable line per event (flushed), e.g.
    READY
    GET version=3 state={"desired":{...},"reported":{...}}
    DELTA version=4 state={"color":"red"}
    REPORTED version=5 state={"color":"red"}
    DOCUMENTS version=5 reported={"color":"red"}
    REJECTED op=update code=409 message=Version conflict
Exits after --seconds, or on SIGTERM/SIGINT.
"""

import argparse
import json
import signal
import threading
import uuid

from awscrt import mqtt
from awsiot import iotshadow


_out = threading.Lock()


def say(line):
    with _out:  # callbacks run on the SDK's threads; keep lines whole
        print(line, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=1883)
    ap.add_argument("--thing", required=True)
    ap.add_argument("--client-id", default=None, help="default: the thing name")
    ap.add_argument("--seconds", type=float, default=120, help="run time before exiting")
    args = ap.parse_args()
    thing = args.thing

    # No TLS context: plain TCP. (With AWS IoT: mqtt_connection_builder.mtls_from_path.)
    connection = mqtt.Connection(
        client=mqtt.Client(None, None),
        host_name=args.endpoint,
        port=args.port,
        client_id=args.client_id or thing,
        clean_session=True,
        keep_alive_secs=30,
    )
    connection.connect().result(timeout=10)
    shadow = iotshadow.IotShadowClient(connection)
    my_tokens = set()  # clientTokens of our own updates

    def report(state):
        token = str(uuid.uuid4())
        my_tokens.add(token)
        request = iotshadow.UpdateShadowRequest(
            thing_name=thing,
            state=iotshadow.ShadowState(reported=state),
            client_token=token,
        )
        shadow.publish_update_shadow(request, mqtt.QoS.AT_LEAST_ONCE)

    def on_get_accepted(r):
        state = {"desired": r.state.desired, "reported": r.state.reported}
        say(f"GET version={r.version} state={json.dumps(state, sort_keys=True)}")
        if r.state.delta:
            report(r.state.delta)

    def on_get_rejected(e):
        say(f"REJECTED op=get code={e.code} message={e.message}")

    def on_delta(d):
        say(f"DELTA version={d.version} state={json.dumps(d.state, sort_keys=True)}")
        report(d.state)

    def on_update_accepted(r):
        if r.client_token in my_tokens:
            reported = r.state.reported if r.state else None
            say(f"REPORTED version={r.version} state={json.dumps(reported, sort_keys=True)}")

    def on_update_rejected(e):
        say(f"REJECTED op=update code={e.code} message={e.message}")

    def on_documents(d):
        reported = d.current.state.reported if d.current and d.current.state else None
        say(f"DOCUMENTS version={d.current.version} reported={json.dumps(reported, sort_keys=True)}")

    qos = mqtt.QoS.AT_LEAST_ONCE
    subscriptions = [
        shadow.subscribe_to_update_shadow_accepted(
            iotshadow.UpdateShadowSubscriptionRequest(thing_name=thing), qos, on_update_accepted),
        shadow.subscribe_to_update_shadow_rejected(
            iotshadow.UpdateShadowSubscriptionRequest(thing_name=thing), qos, on_update_rejected),
        shadow.subscribe_to_shadow_delta_updated_events(
            iotshadow.ShadowDeltaUpdatedSubscriptionRequest(thing_name=thing), qos, on_delta),
        shadow.subscribe_to_shadow_updated_events(
            iotshadow.ShadowUpdatedSubscriptionRequest(thing_name=thing), qos, on_documents),
        shadow.subscribe_to_get_shadow_accepted(
            iotshadow.GetShadowSubscriptionRequest(thing_name=thing), qos, on_get_accepted),
        shadow.subscribe_to_get_shadow_rejected(
            iotshadow.GetShadowSubscriptionRequest(thing_name=thing), qos, on_get_rejected),
    ]
    for future, _packet_id in subscriptions:
        future.result(timeout=10)  # wait for each SUBACK

    # The sample's first step: ask for the current document (get/accepted or get/rejected 404).
    shadow.publish_get_shadow(iotshadow.GetShadowRequest(thing_name=thing), qos).result(timeout=10)
    say("READY")

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait(args.seconds)
    connection.disconnect().result(timeout=10)
    say("BYE")


if __name__ == "__main__":
    main()
