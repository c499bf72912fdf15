//! Evaluation of a parsed template against data: pipelines, variables with Go's scoping,
//! `if`/`range`/`with`, `break`/`continue`, short-circuit `and`/`or`. A step budget and an
//! output cap keep a hostile template from hanging or exhausting memory. Functions live in
//! `funcs.rs`.

use super::funcs::{self, FuncEnv};
use super::gofmt::format_v;
use super::parse::{Arg, Node, Pipe};
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
    vars: Vec<(String, Value)>,
    steps: u64,
    pub out: String,
}

/// An execution error with the line of the action that failed.
#[derive(Debug)]
pub struct ExecError {
    pub line: usize,
    pub msg: String,
}

type R<T> = Result<T, ExecError>;

impl<'a> Exec<'a> {
    pub fn new(env: &'a FuncEnv<'a>, data: Value) -> Self {
        Exec { env, vars: vec![("$".into(), data)], steps: 0, out: String::new() }
    }

    pub fn run(&mut self, nodes: &[Node]) -> R<()> {
        let dot = self.vars[0].1.clone();
        self.list(nodes, &dot)?;
        Ok(())
    }

    fn tick(&mut self, line: usize) -> R<()> {
        self.steps += 1;
        if self.steps > EXEC_STEPS_MAX {
            return Err(ExecError { line, msg: "template execution exceeded its step budget".into() });
        }
        if self.out.len() > OUTPUT_BYTES_MAX {
            return Err(ExecError { line, msg: "template output exceeded 1 MiB".into() });
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
                self.tick(0)?;
                self.out.push_str(t);
            }
            Node::Action(p) => {
                self.tick(p.line)?;
                let v = self.pipe(p, dot)?;
                if p.decl.is_empty() {
                    self.print(&v);
                }
            }
            Node::If { pipe, then, els } => {
                self.tick(pipe.line)?;
                let mark = self.vars.len();
                let v = self.pipe(pipe, dot)?;
                let f = if v.truth() { self.list(then, dot)? } else { self.list(els, dot)? };
                self.vars.truncate(mark);
                return Ok(f);
            }
            Node::With { pipe, body, els } => {
                self.tick(pipe.line)?;
                let mark = self.vars.len();
                let v = self.pipe(pipe, dot)?;
                let f = if v.truth() { self.list(body, &v)? } else { self.list(els, dot)? };
                self.vars.truncate(mark);
                return Ok(f);
            }
            Node::Range { pipe, body, els } => {
                self.tick(pipe.line)?;
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
                                line: pipe.line,
                                msg: "range count exceeds the step budget".into(),
                            });
                        }
                        (0..n.max(0)).map(|i| (Value::Int(i), Value::Int(i))).collect()
                    }
                    Value::Nil => Vec::new(),
                    other => {
                        return Err(ExecError {
                            line: pipe.line,
                            msg: format!("range can't iterate over {}", format_v(&other)),
                        });
                    }
                };
                if items.is_empty() {
                    let f = self.list(els, dot)?;
                    self.vars.truncate(mark);
                    return Ok(f);
                }
                for (k, v) in items {
                    self.tick(pipe.line)?;
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
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
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
                        self.and_or(name == "and", &cmd.args[1..], last.take(), dot, p.line)?
                    } else {
                        let mut args = Vec::with_capacity(cmd.args.len());
                        for a in &cmd.args[1..] {
                            args.push(self.arg(a, dot, p.line)?);
                        }
                        if let Some(prev) = last.take() {
                            args.push(prev);
                        }
                        funcs::call(self.env, name, args).map_err(|e| ExecError {
                            line: p.line,
                            msg: format!("error calling {name}: {e}"),
                        })?
                    }
                }
                _ => {
                    if cmd.args.len() > 1 || last.is_some() {
                        return Err(ExecError {
                            line: p.line,
                            msg: "can't give argument to non-function".into(),
                        });
                    }
                    self.arg(first, dot, p.line)?
                }
            };
            last = Some(v);
        }
        let v = last.unwrap_or(Value::Nil);
        if !p.decl.is_empty() {
            if p.is_assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == p.decl[0]) {
                    slot.1 = v.clone();
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
        piped: Option<Value>,
        dot: &Value,
        line: usize,
    ) -> R<Value> {
        if args.is_empty() && piped.is_none() {
            return Err(ExecError {
                line,
                msg: format!(
                    "wrong number of args for {}: want at least 1 got 0",
                    if is_and { "and" } else { "or" }
                ),
            });
        }
        let mut v = Value::Nil;
        for a in args {
            v = self.arg(a, dot, line)?;
            if v.truth() != is_and {
                return Ok(v);
            }
        }
        if let Some(p) = piped {
            v = p;
        }
        Ok(v)
    }

    fn arg(&mut self, a: &Arg, dot: &Value, line: usize) -> R<Value> {
        Ok(match a {
            Arg::Field(chain) => self.fields(dot.clone(), chain, line)?,
            Arg::Var(name, chain) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| ExecError { line, msg: format!("undefined variable: {name}") })?;
                self.fields(v, chain, line)?
            }
            Arg::Func(name) => {
                if name == "and" || name == "or" {
                    return self.and_or(name == "and", &[], None, dot, line);
                }
                funcs::call(self.env, name, Vec::new())
                    .map_err(|e| ExecError { line, msg: format!("error calling {name}: {e}") })?
            }
            Arg::Str(s) => Value::Str(s.clone()),
            Arg::Int(i) => Value::Int(*i),
            Arg::Float(f) => Value::Float(*f),
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Nil => Value::Nil,
            Arg::Sub(p, chain) => {
                let v = self.pipe(p, dot)?;
                self.fields(v, chain, line)?
            }
        })
    }

    fn fields(&mut self, mut v: Value, chain: &[String], line: usize) -> R<Value> {
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
                        line,
                        msg: format!("nil pointer evaluating interface {{}}.{f}"),
                    });
                }
                other => {
                    return Err(ExecError {
                        line,
                        msg: format!("can't evaluate field {f} in type {}", other.type_name()),
                    });
                }
            };
        }
        Ok(v)
    }
}
