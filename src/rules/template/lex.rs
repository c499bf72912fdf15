//! Lexer of the Go `text/template` subset Prometheus templates use: text, `{{ }}` actions
//! with `{{-`/`-}}` trimming, comments, and the tokens inside actions. Owns no grammar (see
//! `parse.rs`).

use super::TemplateError;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Text(String),
    /// `{{` (trimming of the preceding text already applied).
    Open,
    /// `}}` (trimming of the following text already applied).
    Close,
    Ident(String),
    /// `.Name` (one segment of a field chain).
    Field(String),
    /// A lone `.`.
    Dot,
    /// `$` or `$name` (the `$` included).
    Var(String),
    Str(String),
    /// Number literal as written (`1`, `1.5`, `0x10`, `1e3`).
    Num(String),
    Char(char),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
}

/// A token with the 1-based line it starts on.
#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
    /// Byte offsets of the token in the source: `[pos, end)`.
    pub pos: usize,
    pub end: usize,
}

/// Splits `src` into tokens; errors name the line.
pub fn lex(src: &str) -> Result<Vec<Token>, TemplateError> {
    let mut out: Vec<Token> = Vec::new();
    let mut rest = src;
    let mut line = 1usize;
    let mut trim_next_text = false;
    let at = |x: &str| src.len() - x.len();
    while !rest.is_empty() {
        let (text, after) = match rest.find("{{") {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        let mut text_owned = text.to_string();
        if trim_next_text {
            text_owned = text_owned.trim_start_matches(is_space).to_string();
        }
        let Some(after) = after else {
            if !text_owned.is_empty() {
                out.push(Token { tok: Tok::Text(text_owned), line, pos: at(rest), end: src.len() });
            }
            break;
        };
        // `{{- ` trims trailing space of the text before it.
        let left_trim = after.starts_with("{{- ")
            || after.starts_with("{{-\t")
            || after.starts_with("{{-\n")
            || after.starts_with("{{-\r");
        if left_trim {
            text_owned = text_owned.trim_end_matches(is_space).to_string();
        }
        if !text_owned.is_empty() {
            out.push(Token { tok: Tok::Text(text_owned), line, pos: at(rest), end: at(after) });
        }
        line += text.matches('\n').count();
        let mut body = &after[if left_trim { 3 } else { 2 }..];
        // Comments: `{{/* ... */}}` (with optional trim markers).
        let trimmed_body = body.trim_start_matches(is_space);
        if trimmed_body.starts_with("/*") {
            let Some(end) = trimmed_body.find("*/") else {
                return Err(TemplateError::parse(line, "unclosed comment"));
            };
            let after_comment = trimmed_body[end + 2..].trim_start_matches(is_space);
            let (right_trim, skip) = if after_comment.starts_with("-}}") {
                (true, 3)
            } else if after_comment.starts_with("}}") {
                (false, 2)
            } else {
                return Err(TemplateError::parse(line, "comment ends before closing delimiter"));
            };
            line += trimmed_body[..end].matches('\n').count();
            rest = &after_comment[skip..];
            trim_next_text = right_trim;
            continue;
        }
        out.push(Token { tok: Tok::Open, line, pos: at(after), end: at(body) });
        // Tokens inside the action.
        loop {
            let trimmed = body.trim_start_matches(is_space);
            let had_space = trimmed.len() < body.len();
            line += body[..body.len() - trimmed.len()].matches('\n').count();
            body = trimmed;
            if body.is_empty() {
                return Err(TemplateError::parse(line, "unclosed action"));
            }
            if body.starts_with("-}}") && had_space {
                // Only a trim marker when preceded by space; otherwise `-` starts a number.
                out.push(Token { tok: Tok::Close, line, pos: at(body), end: at(body) + 3 });
                body = &body[3..];
                trim_next_text = true;
                break;
            }
            if let Some(b) = body.strip_prefix("}}") {
                out.push(Token { tok: Tok::Close, line, pos: at(body), end: at(b) });
                body = b;
                trim_next_text = false;
                break;
            }
            let (tok, len) = lex_one(body, line)?;
            if let Tok::Str(s) = &tok {
                line += s.matches('\n').count();
            }
            out.push(Token { tok, line, pos: at(body), end: at(body) + len });
            body = &body[len..];
        }
        rest = body;
    }
    Ok(out)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

fn lex_one(s: &str, line: usize) -> Result<(Tok, usize), TemplateError> {
    let mut chars = s.char_indices();
    let (_, c) = chars.next().ok_or_else(|| TemplateError::parse(line, "unexpected end"))?;
    let ident_len = |from: usize| -> usize {
        s[from..].char_indices().find(|&(_, c)| !is_ident_char(c)).map(|(i, _)| i).unwrap_or(s.len() - from)
    };
    match c {
        '(' => Ok((Tok::LParen, 1)),
        ')' => Ok((Tok::RParen, 1)),
        '|' => Ok((Tok::Pipe, 1)),
        ',' => Ok((Tok::Comma, 1)),
        '=' => Ok((Tok::Assign, 1)),
        ':' if s.starts_with(":=") => Ok((Tok::Declare, 2)),
        '.' => {
            let n = ident_len(1);
            if n == 0 {
                if s[1..].starts_with(|c: char| c.is_ascii_digit()) {
                    return lex_number(s, line);
                }
                Ok((Tok::Dot, 1))
            } else {
                Ok((Tok::Field(s[1..1 + n].to_string()), 1 + n))
            }
        }
        '$' => {
            let n = ident_len(1);
            Ok((Tok::Var(s[..1 + n].to_string()), 1 + n))
        }
        '"' => lex_quoted(s, line),
        '`' => match s[1..].find('`') {
            Some(end) => Ok((Tok::Str(s[1..1 + end].to_string()), end + 2)),
            None => Err(TemplateError::parse(line, "unterminated raw quoted string")),
        },
        '\'' => {
            let body = &s[1..];
            let (ch, len) = if let Some(b) = body.strip_prefix('\\') {
                let (c, l) = unescape(b, line)?;
                (c, l + 1)
            } else {
                let c = body
                    .chars()
                    .next()
                    .ok_or_else(|| TemplateError::parse(line, "unterminated character constant"))?;
                (c, c.len_utf8())
            };
            if !body[len..].starts_with('\'') {
                return Err(TemplateError::parse(line, "unterminated character constant"));
            }
            Ok((Tok::Char(ch), len + 2))
        }
        '+' | '-' | '0'..='9' => lex_number(s, line),
        c if is_ident_char(c) => {
            let n = ident_len(0);
            Ok((Tok::Ident(s[..n].to_string()), n))
        }
        c => Err(TemplateError::parse(line, format!("unexpected {c:?} in command"))),
    }
}

fn lex_number(s: &str, line: usize) -> Result<(Tok, usize), TemplateError> {
    let n = s
        .char_indices()
        .find(|&(i, c)| {
            !(c.is_ascii_alphanumeric()
                || c == '.'
                || c == '_'
                || ((c == '+' || c == '-') && (i == 0 || prev_is_exp(s, i))))
        })
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let text = &s[..n];
    if text == "+" || text == "-" || text.is_empty() {
        return Err(TemplateError::parse(line, format!("bad number syntax: {text:?}")));
    }
    Ok((Tok::Num(text.to_string()), n))
}

fn prev_is_exp(s: &str, i: usize) -> bool {
    let prev = s.as_bytes()[i - 1];
    let hex = s.starts_with("0x") || s.starts_with("0X") || s.starts_with("-0x") || s.starts_with("+0x");
    (prev == b'e' || prev == b'E') && !hex || prev == b'p' || prev == b'P'
}

fn lex_quoted(s: &str, line: usize) -> Result<(Tok, usize), TemplateError> {
    let mut out = String::new();
    let mut i = 1;
    let b = s.as_bytes();
    while i < b.len() {
        match b[i] {
            b'"' => return Ok((Tok::Str(out), i + 1)),
            b'\n' => break,
            b'\\' => {
                let (c, len) = unescape(&s[i + 1..], line)?;
                out.push(c);
                i += 1 + len;
            }
            _ => {
                let c = s[i..].chars().next().unwrap_or('\u{fffd}');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    Err(TemplateError::parse(line, "unterminated quoted string"))
}

/// Decodes one escape after a backslash; returns the char and bytes consumed.
fn unescape(s: &str, line: usize) -> Result<(char, usize), TemplateError> {
    let c = s.chars().next().ok_or_else(|| TemplateError::parse(line, "unterminated escape"))?;
    let simple = match c {
        'n' => Some('\n'),
        't' => Some('\t'),
        'r' => Some('\r'),
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '"' => Some('"'),
        '\'' => Some('\''),
        _ => None,
    };
    if let Some(x) = simple {
        return Ok((x, 1));
    }
    let hex_len = match c {
        'x' => 2,
        'u' => 4,
        'U' => 8,
        _ => return Err(TemplateError::parse(line, format!("invalid escape sequence \\{c}"))),
    };
    let digits = s.get(1..1 + hex_len).ok_or_else(|| TemplateError::parse(line, "short escape"))?;
    let n = u32::from_str_radix(digits, 16).map_err(|_| TemplateError::parse(line, "invalid escape"))?;
    let ch = char::from_u32(n).ok_or_else(|| TemplateError::parse(line, "invalid escape"))?;
    Ok((ch, 1 + hex_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        lex(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn text_actions_and_trimming() {
        assert_eq!(
            toks("a  {{- $labels.x -}}  b"),
            vec![
                Tok::Text("a".into()),
                Tok::Open,
                Tok::Var("$labels".into()),
                Tok::Field("x".into()),
                Tok::Close,
                Tok::Text("b".into())
            ]
        );
        assert_eq!(toks("x{{/* c */}}y"), vec![Tok::Text("x".into()), Tok::Text("y".into())]);
        assert_eq!(
            toks(r#"{{ printf "%.2f\n" -1.5e3 }}"#),
            vec![
                Tok::Open,
                Tok::Ident("printf".into()),
                Tok::Str("%.2f\n".into()),
                Tok::Num("-1.5e3".into()),
                Tok::Close
            ]
        );
    }

    #[test]
    fn errors_are_reported() {
        assert!(lex("{{ \"abc }}").is_err());
        assert!(lex("{{ .x ").is_err());
    }
}
