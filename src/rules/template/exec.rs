//! Evaluation of a parsed template against data: pipelines, variables with Go's scoping,
//! `if`/`range`/`with`, `break`/`continue`, short-circuit `and`/`or`. A step budget and an
//! output cap keep a hostile template from hanging or exhausting memory. Functions live in
//! `funcs.rs`.

use super::funcs::{self, FuncEnv};
use super::gofmt::format_v;
use super::parse::{Arg, Defines, Node, Pipe, Span};
use super::value::Value;

/// Node executions allowed per template run.
pub const EXEC_STEPS_MAX: u64 = 1_000_000;
/// Output bytes allowed per template run.
pub const OUTPUT_BYTES_MAX: usize = 1 << 20;

pub enum Flow {
    Normal,
    Break,
    Continue,
}

pub struct Exec<'a> {
    pub env: &'a FuncEnv<'a>,
    defines: &'a Defines,
    call_depth: usize,
    vars: Vec<(String, Value)>,
    steps: u64,
    pub out: String,
}

/// An execution error with the source range of the node that failed.
#[derive(Debug)]
pub struct ExecError {
    pub span: Span,
    pub msg: String,
    /// Go's text for the failing node when it is not the source text of `span`.
    pub context: Option<String>,
}

type R<T> = Result<T, ExecError>;

impl<'a> Exec<'a> {
    pub fn new(env: &'a FuncEnv<'a>, defines: &'a Defines, data: Value) -> Self {
        Exec { env, defines, call_depth: 0, vars: vec![("$".into(), data)], steps: 0, out: String::new() }
    }

    pub fn run(&mut self, nodes: &[Node]) -> R<()> {
        let dot = self.vars[0].1.clone();
        self.list(nodes, &dot)?;
        Ok(())
    }

    fn tick(&mut self, span: Span) -> R<()> {
        self.steps += 1;
        if self.steps > EXEC_STEPS_MAX {
            return Err(ExecError {
                span,
                msg: "template execution exceeded its step budget".into(),
                context: None,
            });
        }
        if self.out.len() > OUTPUT_BYTES_MAX {
            return Err(ExecError { span, msg: "template output exceeded 1 MiB".into(), context: None });
        }
        Ok(())
    }

    fn list(&mut self, nodes: &[Node], dot: &Value) -> R<Flow> {
        for n in nodes {
            match self.node(n, dot)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn node(&mut self, n: &Node, dot: &Value) -> R<Flow> {
        match n {
            Node::Text(t) => {
                self.tick((0, 0))?;
                self.out.push_str(t);
            }
            Node::Action(p) => {
                self.tick(p.span)?;
                let v = self.pipe(p, dot)?;
                if p.decl.is_empty() {
                    self.print(&v);
                }
            }
            Node::If { pipe, then, els } => {
                self.tick(pipe.span)?;
                let mark = self.vars.len();
                let v = self.pipe(pipe, dot)?;
                let f = if v.truth() { self.list(then, dot)? } else { self.list(els, dot)? };
                self.vars.truncate(mark);
                return Ok(f);
            }
            Node::With { pipe, body, els } => {
                self.tick(pipe.span)?;
                let mark = self.vars.len();
                let v = self.pipe(pipe, dot)?;
                let f = if v.truth() { self.list(body, &v)? } else { self.list(els, dot)? };
                self.vars.truncate(mark);
                return Ok(f);
            }
            Node::Range { pipe, body, els } => {
                self.tick(pipe.span)?;
                let mark = self.vars.len();
                // Declarations are bound per element, not to the pipeline's value.
                let mut p = pipe.clone();
                let decl = std::mem::take(&mut p.decl);
                let v = self.pipe(&p, dot)?;
                let items: Vec<(Value, Value)> = match v {
                    Value::List(l) => {
                        l.into_iter().enumerate().map(|(i, v)| (Value::Int(i as i64), v)).collect()
                    }
                    Value::Map(m) => m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect(),
                    Value::Int(n) => {
                        if n > EXEC_STEPS_MAX as i64 {
                            return Err(ExecError {
                                span: pipe.span,
                                msg: "range count exceeds the step budget".into(),
                                context: None,
                            });
                        }
                        (0..n.max(0)).map(|i| (Value::Int(i), Value::Int(i))).collect()
                    }
                    Value::Nil => Vec::new(),
                    other => {
                        return Err(ExecError {
                            span: pipe.span,
                            msg: format!("range can't iterate over {}", format_v(&other)),
                            context: None,
                        });
                    }
                };
                if items.is_empty() {
                    let f = self.list(els, dot)?;
                    self.vars.truncate(mark);
                    return Ok(f);
                }
                for (k, v) in items {
                    self.tick(pipe.span)?;
                    let inner = self.vars.len();
                    match decl.len() {
                        1 => self.vars.push((decl[0].clone(), v.clone())),
                        2 => {
                            self.vars.push((decl[0].clone(), k));
                            self.vars.push((decl[1].clone(), v.clone()));
                        }
                        _ => {}
                    }
                    let f = self.list(body, &v)?;
                    self.vars.truncate(inner);
                    if let Flow::Break = f {
                        break;
                    }
                }
                self.vars.truncate(mark);
            }
            Node::Call { name, pipe, span } => {
                self.tick(*span)?;
                let arg = match pipe {
                    Some(p) => self.pipe(p, dot)?,
                    None => Value::Nil,
                };
                let Some(body) = self.defines.get(name) else {
                    let ctx = match pipe {
                        Some(p) => format!("{{{{template {name:?} {}}}}}", self.source_hint(p)),
                        None => format!("{{{{template {name:?}}}}}"),
                    };
                    return Err(ExecError {
                        span: *span,
                        msg: format!("template {name:?} not defined"),
                        context: Some(ctx),
                    });
                };
                if self.call_depth >= super::parse::NESTING_MAX {
                    return Err(ExecError {
                        span: *span,
                        msg: "exceeded maximum template depth".into(),
                        context: None,
                    });
                }
                // A named template runs with its own variables: only `$`, bound to its dot.
                let saved = std::mem::replace(&mut self.vars, vec![("$".into(), arg.clone())]);
                self.call_depth += 1;
                let r = self.list(body, &arg);
                self.call_depth -= 1;
                self.vars = saved;
                r?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    /// A short text for a pipeline in error contexts (Go prints the node; we print its args).
    fn source_hint(&self, p: &Pipe) -> String {
        p.cmds
            .iter()
            .map(|c| c.args.iter().map(first_text).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(" | ")
    }

    fn print(&mut self, v: &Value) {
        match v {
            Value::Nil => self.out.push_str("<no value>"),
            v => self.out.push_str(&format_v(v)),
        }
    }

    pub fn pipe(&mut self, p: &Pipe, dot: &Value) -> R<Value> {
        let mut last: Option<Value> = None;
        for cmd in &p.cmds {
            let first = &cmd.args[0];
            let v = match first {
                Arg::Func(name) => {
                    if name == "and" || name == "or" {
                        let spans = &cmd.spans[1..];
                        self.and_or(name == "and", &cmd.args[1..], spans, last.take(), dot, cmd.spans[0])?
                    } else {
                        let mut args = Vec::with_capacity(cmd.args.len());
                        for (a, sp) in cmd.args[1..].iter().zip(&cmd.spans[1..]) {
                            args.push(self.arg(a, dot, *sp)?);
                        }
                        if let Some(prev) = last.take() {
                            args.push(prev);
                        }
                        funcs::call(self.env, name, args)
                            .map_err(|e| call_error(name, e, &cmd.args, &cmd.spans))?
                    }
                }
                _ => {
                    if cmd.args.len() > 1 || last.is_some() {
                        return Err(ExecError {
                            span: cmd.spans[0],
                            msg: format!("can't give argument to non-function {}", first_text(first)),
                            context: None,
                        });
                    }
                    self.arg(first, dot, cmd.spans[0])?
                }
            };
            last = Some(v);
        }
        let v = last.unwrap_or(Value::Nil);
        if !p.decl.is_empty() {
            if p.is_assign {
                match self.vars.iter_mut().rev().find(|(n, _)| *n == p.decl[0]) {
                    Some(slot) => slot.1 = v.clone(),
                    None => {
                        return Err(ExecError {
                            span: p.span,
                            msg: format!("undefined variable: {}", p.decl[0]),
                            context: None,
                        });
                    }
                }
            } else {
                self.vars.push((p.decl[0].clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn and_or(
        &mut self,
        is_and: bool,
        args: &[Arg],
        spans: &[Span],
        piped: Option<Value>,
        dot: &Value,
        span: Span,
    ) -> R<Value> {
        if args.is_empty() && piped.is_none() {
            return Err(ExecError {
                span,
                msg: format!(
                    "wrong number of args for {}: want at least 1 got 0",
                    if is_and { "and" } else { "or" }
                ),
                context: None,
            });
        }
        let mut v = Value::Nil;
        for (a, sp) in args.iter().zip(spans) {
            v = self.arg(a, dot, *sp)?;
            if v.truth() != is_and {
                return Ok(v);
            }
        }
        if let Some(p) = piped {
            v = p;
        }
        Ok(v)
    }

    fn arg(&mut self, a: &Arg, dot: &Value, span: Span) -> R<Value> {
        Ok(match a {
            Arg::Field(chain) => self.fields(dot.clone(), chain, span)?,
            Arg::Var(name, chain) => {
                let v = self.vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone()).ok_or_else(
                    || ExecError { span, msg: format!("undefined variable: {name}"), context: None },
                )?;
                self.fields(v, chain, span)?
            }
            Arg::Func(name) => {
                if name == "and" || name == "or" {
                    return self.and_or(name == "and", &[], &[], None, dot, span);
                }
                funcs::call(self.env, name, Vec::new())
                    .map_err(|e| call_error(name, e, std::slice::from_ref(a), &[span]))?
            }
            Arg::Str(s) => Value::Str(s.clone()),
            Arg::Int(i) => Value::Int(*i),
            Arg::Float(f) => Value::Float(*f),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Nil => Value::Nil,
            Arg::Sub(p, chain) => {
                let v = self.pipe(p, dot)?;
                self.fields(v, chain, span)?
            }
        })
    }

    fn fields(&mut self, mut v: Value, chain: &[String], span: Span) -> R<Value> {
        for f in chain {
            v = match v {
                // Missing keys yield the zero value (Prometheus sets missingkey=zero).
                Value::Map(mut m) => m.remove(f).unwrap_or(Value::Str(String::new())),
                Value::Sample(s) if f == "Labels" => {
                    Value::Map(s.labels.into_iter().map(|(k, v)| (k, Value::Str(v))).collect())
                }
                Value::Sample(s) if f == "Value" => Value::Float(s.value),
                Value::Nil => {
                    return Err(ExecError {
                        span,
                        msg: format!("nil pointer evaluating interface {{}}.{f}"),
                        context: None,
                    });
                }
                other => {
                    return Err(ExecError {
                        span,
                        msg: format!("can't evaluate field {f} in type {}", other.type_name()),
                        context: None,
                    });
                }
            };
        }
        Ok(v)
    }
}

/// Places a function error as Go does: type errors at the offending argument ("expected
/// string; found 1" for a literal), other errors at the whole command.
fn call_error(name: &str, e: funcs::CallError, args: &[Arg], spans: &[Span]) -> ExecError {
    let cmd_span = (spans.first().map_or(0, |s| s.0), spans.last().map_or(0, |s| s.1));
    match e {
        funcs::CallError::BadArg { index, expected, got } => {
            match (args.get(index + 1), spans.get(index + 1)) {
                (
                    Some(a @ (Arg::Str(_) | Arg::Int(_) | Arg::Float(_) | Arg::Bool(_) | Arg::Nil)),
                    Some(sp),
                ) => ExecError {
                    span: *sp,
                    msg: format!("expected {expected}; found {}", first_text(a)),
                    context: None,
                },
                (Some(_), Some(sp)) => ExecError {
                    span: *sp,
                    msg: format!("wrong type for value; expected {expected}; got {got}"),
                    context: None,
                },
                _ => ExecError {
                    span: cmd_span,
                    msg: format!("wrong type for value; expected {expected}; got {got}"),
                    context: None,
                },
            }
        }
        funcs::CallError::Msg(m) => {
            ExecError { span: cmd_span, msg: format!("error calling {name}: {m}"), context: None }
        }
    }
}

/// Go's text for a non-function command start (used in "can't give argument" errors).
fn first_text(a: &Arg) -> String {
    match a {
        Arg::Field(c) if c.is_empty() => ".".into(),
        Arg::Field(c) => c.iter().map(|f| format!(".{f}")).collect(),
        Arg::Var(n, c) => format!("{n}{}", c.iter().map(|f| format!(".{f}")).collect::<String>()),
        Arg::Str(s) => format!("{s:?}"),
        Arg::Int(i) => i.to_string(),
        Arg::Float(f) => f.to_string(),
        Arg::Bool(b) => b.to_string(),
        Arg::Nil => "nil".into(),
        Arg::Func(n) => n.clone(),
        Arg::Sub(..) => "(...)".into(),
    }
}
