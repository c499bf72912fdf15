//! Prometheus-style parse error texts (`<line>:<col>: parse error: <message>`) from
//! promql-parser's messages, which carry no position. A position is given only when it is
//! certain: errors about the end of the input point just past it, and an error quoting a token
//! that occurs exactly once in the query ("unexpected ..." messages) points at that token. Otherwise the text is
//! `parse error: <message>` without a position rather than a guessed one. Type-check messages
//! are reworded the way Prometheus words them ("range vector", "instant vector").

/// Line and column (1-based, columns in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The single-quoted or double-quoted token a message names, if any.
fn quoted_token(msg: &str) -> Option<&str> {
    for q in ['\'', '"'] {
        if let Some(a) = msg.find(q) {
            let rest = &msg[a + 1..];
            if let Some(b) = rest.find(q)
                && b > 0
            {
                return Some(&rest[..b]);
            }
        }
    }
    None
}

/// Prometheus's names for value types in type errors.
fn reword_types(msg: &str) -> String {
    if !msg.starts_with("expected type ") {
        return msg.to_string();
    }
    let mut out = msg.replace("type matrix", "type range vector").replace("got matrix", "got range vector");
    out = out.replace("type vector", "type instant vector").replace("got vector", "got instant vector");
    // `function 'rate'` → `function "rate"`
    if let Some(a) = out.find("function '")
        && let Some(b) = out[a + 10..].find('\'')
    {
        let name = out[a + 10..a + 10 + b].to_string();
        out = format!("{}function \"{name}\"{}", &out[..a], &out[a + 11 + b..]);
    }
    out
}

/// Formats a promql-parser error message for `query`.
pub fn format(query: &str, msg: &str) -> String {
    let msg = reword_types(msg);
    let pos = if msg.contains("end of input") || msg.contains("no expression found") {
        Some(if query.trim().is_empty() { (1, 1) } else { line_col(query, query.trim_end().len()) })
    } else if msg.starts_with("unexpected") {
        quoted_token(&msg)
            .filter(|t| query.matches(t).count() == 1)
            .and_then(|t| query.find(t))
            .map(|at| line_col(query, at))
    } else {
        None
    };
    match pos {
        Some((l, c)) => format!("{l}:{c}: parse error: {msg}"),
        None => format!("parse error: {msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_of_input_points_past_the_end() {
        assert_eq!(
            format("up{", "unexpected end of input inside braces"),
            "1:4: parse error: unexpected end of input inside braces"
        );
        assert_eq!(
            format("", "no expression found in input"),
            "1:1: parse error: no expression found in input"
        );
    }

    #[test]
    fn type_errors_worded_like_prometheus() {
        assert_eq!(
            format("rate(up)", "expected type matrix in call to function 'rate', got vector"),
            "parse error: expected type range vector in call to function \"rate\", got instant vector"
        );
    }

    #[test]
    fn unique_quoted_token_gives_its_position() {
        assert_eq!(
            format("foo $ bar", "unexpected character: '$'"),
            "1:5: parse error: unexpected character: '$'"
        );
        // Ambiguous: no position rather than a guess.
        assert_eq!(
            format("a + $ + $", "unexpected character: '$'"),
            "parse error: unexpected character: '$'"
        );
    }
}
