//! Parser of the template token stream into a tree: text, actions (pipelines), `if`/`else
//! if`/`else`, `range` (with `$i, $e :=`), `with`, `break`/`continue`, variables and
//! function calls. Undefined functions and variables are parse errors, as in Go. Owns no
//! evaluation (see `exec.rs`).

use super::TemplateError;
use super::lex::{Tok, Token};

/// Deepest nesting of control structures and parentheses accepted (parsing and execution
/// recurse; this keeps both far from the stack limit).
pub const NESTING_MAX: usize = 100;

#[derive(Clone, Debug)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If {
        pipe: Pipe,
        then: Vec<Node>,
        els: Vec<Node>,
    },
    Range {
        pipe: Pipe,
        body: Vec<Node>,
        els: Vec<Node>,
    },
    With {
        pipe: Pipe,
        body: Vec<Node>,
        els: Vec<Node>,
    },
    Break,
    Continue,
    /// `{{template "name" pipeline}}` (also the call half of `{{block}}`).
    Call {
        name: String,
        pipe: Option<Pipe>,
        span: Span,
    },
}

/// Named templates from `{{define}}` / `{{block}}`.
pub type Defines = std::collections::HashMap<String, Vec<Node>>;

/// Byte range `[start, end)` of a node in the template source (for error messages).
pub type Span = (usize, usize);

/// `$a, $b := cmd | cmd ...`
#[derive(Clone, Debug)]
pub struct Pipe {
    pub line: usize,
    pub span: Span,
    pub decl: Vec<String>,
    /// `=` instead of `:=`.
    pub is_assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Clone, Debug)]
pub struct Cmd {
    pub args: Vec<Arg>,
    /// Source range of each argument.
    pub spans: Vec<Span>,
}

#[derive(Clone, Debug)]
pub enum Arg {
    /// `.A.B` (empty chain = dot).
    Field(Vec<String>),
    /// `$x.A.B`.
    Var(String, Vec<String>),
    Func(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `(pipeline).A.B`.
    Sub(Box<Pipe>, Vec<String>),
}

/// Parses tokens into the main node list and the named templates. `is_func` says whether a
/// function name is defined.
pub fn parse(
    tokens: &[Token],
    is_func: &dyn Fn(&str) -> bool,
) -> Result<(Vec<Node>, Defines), TemplateError> {
    let mut p = Parser {
        toks: tokens,
        pos: 0,
        vars: vec!["$".to_string()],
        is_func,
        loop_depth: 0,
        depth: 0,
        defines: Defines::new(),
    };
    let (nodes, end) = p.list()?;
    match end {
        End::Eof => Ok((nodes, p.defines)),
        End::Close(line) => Err(TemplateError::parse(line, "unexpected {{end}}")),
        End::Else(line, _) => Err(TemplateError::parse(line, "unexpected {{else}}")),
    }
}

enum End {
    Eof,
    Close(usize),
    /// `{{else}}` or `{{else if ...}}` / `{{else with ...}}` (the keyword after else, if any).
    Else(usize, Option<String>),
}

struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
    vars: Vec<String>,
    is_func: &'a dyn Fn(&str) -> bool,
    loop_depth: usize,
    /// Current nesting of control structures and parentheses.
    depth: usize,
    defines: Defines,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn line(&self) -> usize {
        self.toks.get(self.pos).or(self.toks.last()).map(|t| t.line).unwrap_or(1)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).map(|t| t.tok.clone());
        self.pos += 1;
        t
    }

    fn expect_close(&mut self, what: &str) -> Result<(), TemplateError> {
        let line = self.line();
        match self.next() {
            Some(Tok::Close) => Ok(()),
            other => {
                Err(TemplateError::parse(line, format!("unexpected {} in {what}", describe(other.as_ref()))))
            }
        }
    }

    /// Parses nodes until EOF, `{{end}}` or `{{else}}`.
    fn list(&mut self) -> Result<(Vec<Node>, End), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            let line = self.line();
            match self.next() {
                None => return Ok((nodes, End::Eof)),
                Some(Tok::Text(t)) => nodes.push(Node::Text(t)),
                Some(Tok::Open) => {
                    if let Some(Tok::Ident(kw)) = self.peek().cloned() {
                        match kw.as_str() {
                            "end" => {
                                self.pos += 1;
                                self.expect_close("end")?;
                                return Ok((nodes, End::Close(line)));
                            }
                            "else" => {
                                self.pos += 1;
                                if let Some(Tok::Ident(k)) = self.peek().cloned()
                                    && (k == "if" || k == "with")
                                {
                                    self.pos += 1;
                                    return Ok((nodes, End::Else(line, Some(k))));
                                }
                                self.expect_close("else")?;
                                return Ok((nodes, End::Else(line, None)));
                            }
                            "if" | "range" | "with" => {
                                self.pos += 1;
                                nodes.push(self.control(&kw, line)?);
                                continue;
                            }
                            "break" | "continue" => {
                                self.pos += 1;
                                if self.loop_depth == 0 {
                                    return Err(TemplateError::parse(
                                        line,
                                        format!("{{{{{kw}}}}} outside {{{{range}}}}"),
                                    ));
                                }
                                self.expect_close(&kw)?;
                                nodes.push(if kw == "break" { Node::Break } else { Node::Continue });
                                continue;
                            }
                            "define" | "block" | "template" => {
                                self.pos += 1;
                                self.named(&kw, line, &mut nodes)?;
                                continue;
                            }
                            _ => {}
                        }
                    }
                    let pipe = self.pipeline(line, true)?;
                    self.expect_close("command")?;
                    nodes.push(Node::Action(pipe));
                }
                Some(other) => {
                    return Err(TemplateError::parse(line, format!("unexpected {}", describe(Some(&other)))));
                }
            }
        }
    }

    /// `{{define}}`, `{{block}}`, `{{template}}` after the keyword (kept out of `list` so
    /// its stack frame stays small: `list` recurses once per nesting level).
    fn named(&mut self, kw: &str, line: usize, nodes: &mut Vec<Node>) -> Result<(), TemplateError> {
        let span_start = self.cur_pos();
        let name = self.template_name(kw, line)?;
        if kw == "template" {
            let pipe = if matches!(self.peek(), Some(Tok::Close)) {
                None
            } else {
                Some(self.pipeline(line, false)?)
            };
            let span = (span_start, self.prev_end());
            self.expect_close(kw)?;
            nodes.push(Node::Call { name, pipe, span });
            return Ok(());
        }
        let pipe = if kw == "block" { Some(self.pipeline(line, false)?) } else { None };
        self.expect_close(kw)?;
        if kw == "define" && self.depth > 0 {
            return Err(TemplateError::parse(line, "unexpected <define> in command"));
        }
        if self.depth >= NESTING_MAX {
            return Err(TemplateError::parse(line, format!("nesting deeper than {NESTING_MAX}")));
        }
        // A named template sees only `$` (its own dot).
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        self.depth += 1;
        let r = self.list();
        self.depth -= 1;
        self.vars = saved;
        let (body, end) = r?;
        if !matches!(end, End::Close(_)) {
            return Err(TemplateError::parse(line, format!("unexpected EOF in {{{{{kw}}}}}")));
        }
        self.defines.insert(name.clone(), body);
        if kw == "block" {
            nodes.push(Node::Call { name, pipe, span: (span_start, self.prev_end()) });
        }
        Ok(())
    }

    /// The quoted name after `define`/`template`/`block`.
    fn template_name(&mut self, kw: &str, line: usize) -> Result<String, TemplateError> {
        match self.next() {
            Some(Tok::Str(n)) => Ok(n),
            other => Err(TemplateError::parse(
                line,
                format!("unexpected {} in {kw} clause", describe(other.as_ref())),
            )),
        }
    }

    /// `if`/`range`/`with` after the keyword.
    fn control(&mut self, kw: &str, line: usize) -> Result<Node, TemplateError> {
        self.depth += 1;
        if self.depth > NESTING_MAX {
            return Err(TemplateError::parse(line, format!("nesting deeper than {NESTING_MAX}")));
        }
        let r = self.control_inner(kw, line);
        self.depth -= 1;
        r
    }

    fn control_inner(&mut self, kw: &str, line: usize) -> Result<Node, TemplateError> {
        let saved_vars = self.vars.len();
        let pipe = self.pipeline(line, true)?;
        if kw == "range" && pipe.decl.len() > 2 {
            return Err(TemplateError::parse(line, "too many declarations in range"));
        }
        if kw != "range" && pipe.decl.len() > 1 {
            return Err(TemplateError::parse(line, "too many declarations in command"));
        }
        self.expect_close(kw)?;
        if kw == "range" {
            self.loop_depth += 1;
        }
        let (body, end) = self.list()?;
        if kw == "range" {
            self.loop_depth -= 1;
        }
        // Variables declared in the control pipeline stay visible in the else branch (Go).
        let els = match end {
            End::Eof => {
                return Err(TemplateError::parse(
                    line,
                    format!("unexpected EOF: {{{{{kw}}}}} without {{{{end}}}}"),
                ));
            }
            End::Close(_) => Vec::new(),
            End::Else(eline, None) => {
                let (els, end2) = self.list()?;
                match end2 {
                    End::Close(_) => els,
                    End::Eof => return Err(TemplateError::parse(eline, "unexpected EOF")),
                    End::Else(l, _) => return Err(TemplateError::parse(l, "expected end; found {{else}}")),
                }
            }
            End::Else(eline, Some(chained)) => {
                if kw == "range" || chained != kw {
                    return Err(TemplateError::parse(eline, format!("unexpected {{{{else {chained}}}}}")));
                }
                // `{{else if p}}...{{end}}` is `{{else}}{{if p}}...{{end}}{{end}}`: the nested
                // control consumes the shared `{{end}}`.
                vec![self.control(&chained, eline)?]
            }
        };
        self.vars.truncate(saved_vars);
        Ok(match kw {
            "if" => Node::If { pipe, then: body, els },
            "range" => Node::Range { pipe, body, els },
            _ => Node::With { pipe, body, els },
        })
    }

    /// A pipeline, with optional declarations when `allow_decl`. Stops before `}}` or `)`.
    fn pipeline(&mut self, line: usize, allow_decl: bool) -> Result<Pipe, TemplateError> {
        let start = self.cur_pos();
        let mut decl = Vec::new();
        let mut is_assign = false;
        if allow_decl && let Some(Tok::Var(_)) = self.peek() {
            // Look ahead: `$x :=`, `$x =`, `$i, $e :=`.
            let save = self.pos;
            let mut names = Vec::new();
            while let Some(Tok::Var(v)) = self.next() {
                names.push(v);
                match self.peek() {
                    Some(Tok::Comma) => {
                        self.pos += 1;
                        continue;
                    }
                    Some(Tok::Declare) => {
                        self.pos += 1;
                        decl = names.clone();
                        break;
                    }
                    Some(Tok::Assign) => {
                        self.pos += 1;
                        decl = names.clone();
                        is_assign = true;
                        break;
                    }
                    _ => break,
                }
            }
            if decl.is_empty() {
                self.pos = save;
            }
        }
        let mut cmds = Vec::new();
        loop {
            let cmd = self.command(line)?;
            cmds.push(cmd);
            match self.peek() {
                Some(Tok::Pipe) => {
                    self.pos += 1;
                    // Go accepts a trailing `|` before the closing delimiter.
                    if matches!(self.peek(), Some(Tok::Close) | Some(Tok::RParen) | None) {
                        break;
                    }
                }
                _ => break,
            }
        }
        // Only the first stage may start with a non-executable operand (Go's checkPipeline).
        for (i, c) in cmds.iter().enumerate().skip(1) {
            if matches!(c.args[0], Arg::Bool(_) | Arg::Nil | Arg::Int(_) | Arg::Float(_) | Arg::Str(_))
                || matches!(&c.args[0], Arg::Field(f) if f.is_empty())
            {
                return Err(TemplateError::parse(
                    line,
                    format!("non executable command in pipeline stage {}", i + 1),
                ));
            }
        }
        if !is_assign {
            self.vars.extend(decl.iter().cloned());
        }
        let span = (start, self.prev_end());
        Ok(Pipe { line, span, decl, is_assign, cmds })
    }

    fn command(&mut self, line: usize) -> Result<Cmd, TemplateError> {
        let mut args = Vec::new();
        let mut spans = Vec::new();
        loop {
            match self.peek() {
                None | Some(Tok::Close) | Some(Tok::RParen) | Some(Tok::Pipe) => break,
                _ => {}
            }
            let start = self.cur_pos();
            args.push(self.operand(line)?);
            spans.push((start, self.prev_end()));
        }
        if args.is_empty() {
            return Err(TemplateError::parse(line, "missing value for command"));
        }
        Ok(Cmd { args, spans })
    }

    /// Source offset of the next token.
    fn cur_pos(&self) -> usize {
        self.toks.get(self.pos).or(self.toks.last()).map(|t| t.pos).unwrap_or(0)
    }

    /// Source offset just after the last consumed token.
    fn prev_end(&self) -> usize {
        self.pos.checked_sub(1).and_then(|i| self.toks.get(i)).map(|t| t.end).unwrap_or(0)
    }

    fn fields(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(Tok::Field(f)) = self.peek() {
            out.push(f.clone());
            self.pos += 1;
        }
        out
    }

    fn operand(&mut self, line: usize) -> Result<Arg, TemplateError> {
        let tok = self.next();
        Ok(match tok {
            Some(Tok::Dot) => Arg::Field(Vec::new()),
            Some(Tok::Field(f)) => {
                let mut chain = vec![f];
                chain.extend(self.fields());
                Arg::Field(chain)
            }
            Some(Tok::Var(v)) => {
                if !self.vars.contains(&v) {
                    return Err(TemplateError::parse(line, format!("undefined variable \"{v}\"")));
                }
                let f = self.fields();
                Arg::Var(v, f)
            }
            Some(Tok::Str(s)) => Arg::Str(s),
            Some(Tok::Char(c)) => Arg::Int(c as i64),
            Some(Tok::Num(n)) => parse_number(&n)
                .ok_or_else(|| TemplateError::parse(line, format!("bad number syntax: {n:?}")))?,
            Some(Tok::Ident(id)) => match id.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "nil" => Arg::Nil,
                _ if (self.is_func)(&id) => Arg::Func(id),
                _ => return Err(TemplateError::parse(line, format!("function \"{id}\" not defined"))),
            },
            Some(Tok::LParen) => {
                self.depth += 1;
                if self.depth > NESTING_MAX {
                    return Err(TemplateError::parse(line, format!("nesting deeper than {NESTING_MAX}")));
                }
                let p = self.pipeline(line, false);
                self.depth -= 1;
                let p = p?;
                match self.next() {
                    Some(Tok::RParen) => {}
                    other => {
                        return Err(TemplateError::parse(
                            line,
                            format!("unclosed left paren, found {}", describe(other.as_ref())),
                        ));
                    }
                }
                let f = self.fields();
                Arg::Sub(Box::new(p), f)
            }
            other => {
                return Err(TemplateError::parse(
                    line,
                    format!("unexpected {} in operand", describe(other.as_ref())),
                ));
            }
        })
    }
}

fn describe(t: Option<&Tok>) -> String {
    match t {
        None => "EOF".into(),
        Some(Tok::Close) => "\"}}\"".into(),
        Some(Tok::Open) => "\"{{\"".into(),
        Some(Tok::Text(_)) => "text".into(),
        Some(Tok::Ident(s)) => format!("<{s}>"),
        Some(Tok::Field(s)) => format!("<.{s}>"),
        Some(Tok::Var(s)) => format!("<{s}>"),
        Some(Tok::Str(s)) => format!("{s:?}"),
        Some(Tok::Num(s)) => s.clone(),
        Some(other) => format!("{other:?}"),
    }
}

/// Go's number constants: ints when they are integral without `.`/exponent, else floats.
fn parse_number(s: &str) -> Option<Arg> {
    let clean = s.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b.to_string()),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean).to_string()),
    };
    let lower = body.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else if lower.bytes().all(|c| c.is_ascii_digit()) {
        lower.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Some(Arg::Int(if neg { -i } else { i }));
    }
    if lower.starts_with("0x") || lower == "inf" || lower == "nan" || lower.contains("inf") {
        return None;
    }
    let f: f64 = lower.parse().ok()?;
    Some(Arg::Float(if neg { -f } else { f }))
}
