//! The policy wildcard matcher: `*` matches any run of characters (including none), `?` exactly
//! one character, everything else literally. Works on a token list so that text substituted
//! from a policy variable is always literal (a `*` in a client ID is not a wildcard).
//!
//! Source: IAM User Guide, *IAM JSON policy elements: Resource* and *Condition operators*
//! (`StringLike`: "multi-character match wildcard (*) and the single-character match wildcard
//! (?)"); AWS IoT Developer Guide, *AWS IoT Core policy variables* ("The characters + and # are
//! treated as literal strings in a policy"). Matching is greedy with single-star backtracking:
//! O(len(text) × tokens) worst case, no allocation.

/// One piece of a pattern after policy variables are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok<'a> {
    /// Literal text (compared byte-wise, or ASCII-case-insensitively).
    Lit(&'a str),
    /// `*`: any run of characters.
    Any,
    /// `?`: exactly one character.
    One,
}

/// Length in bytes of the UTF-8 character starting with byte `b`.
fn char_len(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

fn lit_at(text: &[u8], at: usize, lit: &str, ignore_case: bool) -> bool {
    let lit = lit.as_bytes();
    match text.get(at..at + lit.len()) {
        Some(window) if ignore_case => window.eq_ignore_ascii_case(lit),
        Some(window) => window == lit,
        None => false,
    }
}

/// Whether `text` matches the token list. `ignore_case` compares ASCII letters without case
/// (action names); otherwise the comparison is exact (resources, `StringLike`).
pub(crate) fn matches(tokens: &[Tok<'_>], text: &str, ignore_case: bool) -> bool {
    // Fast path: a pattern without wildcards is one comparison.
    if let [Tok::Lit(s)] = tokens {
        return if ignore_case {
            s.eq_ignore_ascii_case(text)
        } else {
            *s == text
        };
    }
    let t = text.as_bytes();
    let (mut ti, mut pi) = (0usize, 0usize);
    // (token index after the last `*`, text index that `*` currently extends to)
    let mut star: Option<(usize, usize)> = None;
    loop {
        if let Some(tok) = tokens.get(pi) {
            match *tok {
                Tok::Any => {
                    if pi + 1 == tokens.len() {
                        return true;
                    }
                    star = Some((pi + 1, ti));
                    pi += 1;
                    continue;
                }
                Tok::One if ti < t.len() => {
                    ti += char_len(t[ti]);
                    pi += 1;
                    continue;
                }
                Tok::Lit(s) if lit_at(t, ti, s, ignore_case) => {
                    ti += s.len();
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        } else if ti == t.len() {
            return true;
        }
        // Mismatch: let the last `*` swallow one more character and retry after it.
        match star {
            Some((after, at)) if at < t.len() => {
                let next = at + char_len(t[at]);
                star = Some((after, next));
                pi = after;
                ti = next;
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Tok, matches};

    /// Parses `*`/`?` as wildcards, everything else literal (test helper only).
    fn toks(p: &str) -> Vec<Tok<'_>> {
        let mut out = Vec::new();
        let mut start = 0;
        for (i, c) in p.char_indices() {
            if c == '*' || c == '?' {
                if start < i {
                    out.push(Tok::Lit(&p[start..i]));
                }
                out.push(if c == '*' { Tok::Any } else { Tok::One });
                start = i + 1;
            }
        }
        if start < p.len() {
            out.push(Tok::Lit(&p[start..]));
        }
        out
    }

    #[test]
    fn wildcard_table() {
        // (pattern, text, ignore_case, expected)
        let rows: &[(&str, &str, bool, bool)] = &[
            ("*", "", false, true),
            ("*", "anything/at/all", false, true),
            ("", "", false, true),
            ("", "x", false, false),
            ("a?c", "abc", false, true),
            ("a?c", "ac", false, false),
            ("a?c", "aéc", false, true),
            ("topic/*", "topic/a/b", false, true),
            ("topic/*", "topic", false, false),
            ("*/b/*", "a/b/c", false, true),
            ("*/b/*", "a/c/b", false, false),
            ("a*b*c", "aXbYbZc", false, true),
            ("a*b*c", "aXbYbZ", false, false),
            ("iot:pub*", "iot:Publish", true, true),
            ("iot:pub*", "iot:Publish", false, false),
            ("IOT:CONNECT", "iot:Connect", true, true),
            ("*ab", "aab", false, true),
            ("*aab", "aaab", false, true),
            ("??", "é!", false, true),
            ("topicfilter/+/#", "topicfilter/+/#", false, true),
            ("topicfilter/+/#", "topicfilter/a/b", false, false),
        ];
        for &(p, text, ci, want) in rows {
            assert_eq!(
                matches(&toks(p), text, ci),
                want,
                "{p:?} vs {text:?} ci={ci}"
            );
        }
    }

    /// Reference semantics: the obvious exponential recursion over characters.
    fn naive(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| naive(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && naive(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && naive(rest, &t[1..]),
        }
    }

    /// All strings over `alphabet` of length 0..=max.
    fn all_strings(alphabet: &[char], max: usize) -> Vec<String> {
        let mut out = vec![String::new()];
        let mut frontier = vec![String::new()];
        for _ in 0..max {
            frontier = frontier
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            out.extend(frontier.iter().cloned());
        }
        out
    }

    #[test]
    fn agrees_with_naive_recursion_exhaustively() {
        // Every pattern over {a, b, *, ?} up to 5 long against every text over {a, b, é} up
        // to 5 long (é checks that ? consumes a whole UTF-8 character).
        let patterns = all_strings(&['a', 'b', '*', '?'], 5);
        let texts = all_strings(&['a', 'b', 'é'], 5);
        let mut checked = 0usize;
        for p in &patterns {
            let pc: Vec<char> = p.chars().collect();
            let toks = toks(p);
            for t in &texts {
                let tc: Vec<char> = t.chars().collect();
                assert_eq!(matches(&toks, t, false), naive(&pc, &tc), "{p:?} vs {t:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, patterns.len() * texts.len());
    }

    #[test]
    fn literal_star_token_is_not_a_wildcard() {
        // A substituted value "*" arrives as Lit("*"): it matches only a literal star.
        let t = [Tok::Lit("client/"), Tok::Lit("*")];
        assert!(matches(&t, "client/*", false));
        assert!(!matches(&t, "client/dev1", false));
    }
}
