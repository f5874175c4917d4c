#!/usr/bin/env python3
"""A device that runs its AWS IoT jobs, with the AWS IoT Device SDK v2 for Python.

It follows the SDK's own jobs sample (samples/jobs.py, `awsiot.iotjobs.IotJobsClient`):
connect over mutual TLS (`mqtt_connection_builder.mtls_from_path`), subscribe to notify-next,
start-next/accepted, start-next/rejected and +/update/accepted, +/update/rejected, ask to
start the next pending execution, and whenever notify-next names one while the device is
idle, start it. Working on a job is --progress-steps IN_PROGRESS updates with statusDetails
{"progress": "k/N"}, then the final status (--outcome, statusDetails unchanged); with --hang
the device starts a job and never finishes it (until notify-next names another or none).

    pip install awsiotsdk
    python3 scripts/jobs_device.py --port 8883 --cert dev-1.cert.pem --key dev-1.key.pem \\
        --ca DATA_DIR/ca.pem --thing dev-1 --outcome SUCCEEDED --progress-steps 2

Prints one machine-readable line per event (flushed), e.g.
    READY
    IDLE
    NEXT job=job-1 status=QUEUED
    STARTED job=job-1 version=2
    UPDATED job=job-1 status=IN_PROGRESS version=3
    UPDATED job=job-1 status=SUCCEEDED version=5
    REJECTED op=update code=InvalidStateTransition message=...
    REJECTED op=connect code=AWS_ERROR_MQTT_PROTOCOL_ERROR message=...   (then exits 1)
IDLE: notify-next (or start-next/accepted) without an execution. Keeps running, processing
every job it is notified of, until --seconds have passed or SIGTERM/SIGINT (then BYE).
"""

import argparse
import signal
import sys
import threading
import uuid

from awscrt import mqtt
from awsiot import iotjobs, mqtt_connection_builder


_out = threading.Lock()


def say(line):
    with _out:  # callbacks run on the SDK's threads; keep lines whole
        print(line, flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default="localhost", help="the server certificate's name")
    ap.add_argument("--port", type=int, default=8883)
    ap.add_argument("--cert", required=True, help="the device certificate (PEM)")
    ap.add_argument("--key", required=True, help="its private key (PEM)")
    ap.add_argument("--ca", required=True, help="the CA to trust (DATA_DIR/ca.pem)")
    ap.add_argument("--thing", required=True)
    ap.add_argument("--client-id", default=None, help="default: the thing name")
    ap.add_argument("--outcome", choices=["SUCCEEDED", "FAILED"], default="SUCCEEDED",
                    help="the final status of every job")
    ap.add_argument("--progress-steps", type=int, default=0,
                    help="IN_PROGRESS updates before the final one")
    ap.add_argument("--step-seconds", type=float, default=0.2, help="work time per step")
    ap.add_argument("--hang", action="store_true", help="start jobs, never finish them")
    ap.add_argument("--seconds", type=float, default=300, help="run time before exiting")
    args = ap.parse_args()
    thing = args.thing
    qos = mqtt.QoS.AT_LEAST_ONCE

    connection = mqtt_connection_builder.mtls_from_path(
        endpoint=args.endpoint,
        port=args.port,
        cert_filepath=args.cert,
        pri_key_filepath=args.key,
        ca_filepath=args.ca,
        client_id=args.client_id or thing,
        clean_session=False,
        keep_alive_secs=30,
        on_connection_interrupted=lambda conn, error, **kw: say(f"INTERRUPTED error={error}"),
        on_connection_resumed=lambda conn, return_code, session_present, **kw: say(
            f"RESUMED return_code={return_code}"),
    )
    try:
        connection.connect().result(timeout=10)
    except Exception as e:  # awscrt reports a refused CONNACK as AWS_ERROR_MQTT_PROTOCOL_ERROR
        say(f"REJECTED op=connect code={getattr(e, 'name', type(e).__name__)} message={e}")
        sys.exit(1)
    jobs = iotjobs.IotJobsClient(connection)

    # The sample's LockedData: one job at a time, and whether notify-next asked for another.
    lock = threading.Lock()
    state = {"working": False, "next_waiting": False, "hung": None, "stopping": False}
    my_tokens = set()  # clientTokens of our start-next requests
    updates = {}  # clientToken -> [job_id, requested status, threading.Event, accepted?]

    def try_start_next():
        with lock:
            if state["working"] or state["stopping"]:
                return
            state["working"] = True
            state["next_waiting"] = False
        token = str(uuid.uuid4())
        my_tokens.add(token)
        jobs.publish_start_next_pending_job_execution(
            iotjobs.StartNextPendingJobExecutionRequest(thing_name=thing, client_token=token), qos)

    def done_working():
        with lock:
            state["working"] = False
            again = state["next_waiting"]
        if again:
            try_start_next()

    def on_next_changed(event):
        if event is None:  # the SDK passes None for a payload it cannot parse
            say("MALFORMED op=notify-next")
            return
        execution = event.execution
        if execution:
            say(f"NEXT job={execution.job_id} status={execution.status}")
        else:
            say("IDLE")
        with lock:
            # A hung job that is no longer the next one (timed out, canceled) frees the device.
            if state["hung"] is not None and (execution is None or execution.job_id != state["hung"]):
                state["hung"] = None
                state["working"] = False
            if execution is None:
                return
            start_now = not state["working"]
            if not start_now:
                state["next_waiting"] = True
        if start_now:
            try_start_next()

    def on_start_accepted(response):
        if response is None or response.client_token not in my_tokens:
            return
        execution = response.execution
        if not execution:
            say("IDLE")
            done_working()
            return
        say(f"STARTED job={execution.job_id} version={execution.version_number}")
        if args.hang:
            with lock:
                state["hung"] = execution.job_id
            return
        threading.Thread(target=run_job, args=(execution.job_id,), name="job", daemon=True).start()

    def on_start_rejected(error):
        if error is None or error.client_token is not None and error.client_token not in my_tokens:
            return
        say(f"REJECTED op=start-next code={error.code} message={error.message}")
        done_working()

    def update(job_id, status, details=None):
        """Publishes an update and waits for its answer; True when accepted."""
        token = str(uuid.uuid4())
        entry = [job_id, status, threading.Event(), False]
        updates[token] = entry
        request = iotjobs.UpdateJobExecutionRequest(
            thing_name=thing,
            job_id=job_id,
            status=status,
            status_details=details,
            include_job_execution_state=True,
            client_token=token,
        )
        jobs.publish_update_job_execution(request, qos)
        if not entry[2].wait(10):
            say(f"REJECTED op=update code=Timeout message=no answer to the update of {job_id} in 10 s")
            return False
        return entry[3]

    def run_job(job_id):
        try:
            steps = args.progress_steps
            ok = True
            for k in range(1, steps + 1):
                stop.wait(args.step_seconds)  # "doing work"
                ok = update(job_id, iotjobs.JobStatus.IN_PROGRESS, {"progress": f"{k}/{steps}"})
                if not ok:
                    break
            if ok:
                stop.wait(args.step_seconds)
                update(job_id, args.outcome)  # statusDetails unchanged
        finally:
            done_working()

    def on_update_accepted(response):
        entry = updates.get(response.client_token) if response is not None else None
        if entry is None:
            return
        es = response.execution_state
        status = es.status if es and es.status else entry[1]
        version = es.version_number if es else "?"
        say(f"UPDATED job={entry[0]} status={status} version={version}")
        entry[3] = True
        entry[2].set()

    def on_update_rejected(error):
        if error is None:
            return
        entry = updates.get(error.client_token)
        if entry is None and error.client_token is not None:
            return
        say(f"REJECTED op=update code={error.code} message={error.message}")
        if entry is not None:
            entry[2].set()

    stop = threading.Event()
    # As in the sample: wait for each SUBACK before publishing the corresponding request.
    subscriptions = [
        jobs.subscribe_to_next_job_execution_changed_events(
            iotjobs.NextJobExecutionChangedSubscriptionRequest(thing_name=thing), qos, on_next_changed),
        jobs.subscribe_to_start_next_pending_job_execution_accepted(
            iotjobs.StartNextPendingJobExecutionSubscriptionRequest(thing_name=thing), qos, on_start_accepted),
        jobs.subscribe_to_start_next_pending_job_execution_rejected(
            iotjobs.StartNextPendingJobExecutionSubscriptionRequest(thing_name=thing), qos, on_start_rejected),
        jobs.subscribe_to_update_job_execution_accepted(
            iotjobs.UpdateJobExecutionSubscriptionRequest(thing_name=thing, job_id="+"), qos, on_update_accepted),
        jobs.subscribe_to_update_job_execution_rejected(
            iotjobs.UpdateJobExecutionSubscriptionRequest(thing_name=thing, job_id="+"), qos, on_update_rejected),
    ]
    for future, topic in subscriptions:
        try:
            future.result(timeout=10)
        except Exception as e:  # a SUBACK failure (0x80) is a SubscribeError
            say(f"REJECTED op=subscribe code={type(e).__name__} message={topic} {e}")
            connection.disconnect().result(timeout=10)
            sys.exit(1)

    # The sample's first step: try to start the next pending job (accepted even when none).
    try_start_next()
    say("READY")

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait(args.seconds)
    with lock:
        state["stopping"] = True
    connection.disconnect().result(timeout=10)
    say("BYE")


if __name__ == "__main__":
    main()
