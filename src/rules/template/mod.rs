//! Cairn's own implementation of the Go `text/template` subset that Prometheus rule
//! templates use (labels and annotations): lexer (`lex.rs`), parser (`parse.rs`), evaluator
//! (`exec.rs`), functions (`funcs.rs`), Go number/printf formatting (`gofmt.rs`).
//!
//! [`expand_alert`] is what rules call: it prepends Prometheus's variable definitions
//! (`$labels`, `$externalLabels`, `$externalURL`, `$value`) and turns any error into
//! `<error expanding template: ...>` as Prometheus does; nothing here panics on input.
//! Not supported: method calls, `call`.

pub mod exec;
pub mod funcs;
pub mod gofmt;
pub mod lex;
pub mod parse;
pub mod value;

pub use funcs::FuncEnv;
pub use value::{TmplSample, Value};

use cairn_format::Labels;

/// Prometheus's prelude for alert templates.
const ALERT_DEFS: &str = "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}";

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("{line}: {msg}")]
    Parse { line: usize, msg: String },
    /// Go's form: `LINE:COL: executing "NAME" at <CONTEXT>: MSG` (column = byte offset in
    /// the line, counted from 0 as Go does).
    #[error("{line}:{col}: executing \"{name}\" at <{context}>: {msg}")]
    Exec { name: String, line: usize, col: usize, context: String, msg: String },
}

impl TemplateError {
    pub fn parse(line: usize, msg: impl Into<String>) -> Self {
        TemplateError::Parse { line, msg: msg.into() }
    }
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    source: String,
    nodes: Vec<parse::Node>,
    defines: parse::Defines,
}

impl Template {
    /// Parses `text`; undefined functions and variables are errors.
    pub fn parse(name: &str, text: &str) -> Result<Template, TemplateError> {
        let toks = lex::lex(text)?;
        let (nodes, defines) = parse::parse(&toks, &funcs::is_func)?;
        Ok(Template { name: name.to_string(), source: text.to_string(), nodes, defines })
    }

    /// Runs the template with `data` as dot (and `$`).
    pub fn execute(&self, env: &FuncEnv, data: Value) -> Result<String, TemplateError> {
        let mut ex = exec::Exec::new(env, &self.defines, data);
        match ex.run(&self.nodes) {
            Ok(()) => Ok(ex.out),
            Err(e) => {
                let (start, end) = e.span;
                let before = self.source.get(..start).unwrap_or("");
                let line = 1 + before.matches('\n').count();
                let col = before.rfind('\n').map(|i| start - i - 1).unwrap_or(start);
                let context =
                    e.context.unwrap_or_else(|| self.source.get(start..end).unwrap_or("").trim().to_string());
                Err(TemplateError::Exec { name: self.name.clone(), line, col, context, msg: e.msg })
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Checks that an alert label or annotation template parses (with the alert prelude), as
/// `promtool check rules` does. Returns Go-like text on error.
pub fn check_alert_template(name: &str, text: &str) -> Result<(), String> {
    let full = format!("{ALERT_DEFS}{text}");
    Template::parse(name, &full).map(|_| ()).map_err(|e| format!("template: {name}:{e}"))
}

/// The data an alert template sees.
pub struct AlertData<'a> {
    pub labels: &'a Labels,
    pub external_labels: &'a Labels,
    pub external_url: &'a str,
    pub value: f64,
}

fn labels_value(l: &Labels) -> Value {
    Value::string_map(l.iter().map(|l| (l.name.as_str(), l.value.as_str())))
}

/// Expands an alert label/annotation template the way Prometheus does: errors become
/// `<error expanding template: ...>` in the result.
pub fn expand_alert(name: &str, text: &str, data: &AlertData, env: &FuncEnv) -> String {
    let full = format!("{ALERT_DEFS}{text}");
    let tmpl = match Template::parse(name, &full) {
        Ok(t) => t,
        Err(e) => {
            return format!(
                "<error expanding template: error parsing template {name}: template: {name}:{e}>"
            );
        }
    };
    let mut m = std::collections::BTreeMap::new();
    m.insert("Labels".to_string(), labels_value(data.labels));
    m.insert("ExternalLabels".to_string(), labels_value(data.external_labels));
    m.insert("ExternalURL".to_string(), Value::Str(data.external_url.to_string()));
    m.insert("Value".to_string(), Value::Float(data.value));
    match tmpl.execute(env, Value::Map(m)) {
        Ok(s) => s,
        Err(e) => {
            format!("<error expanding template: error executing template {name}: template: {name}:{e}>")
        }
    }
}

#[cfg(test)]
mod tests;
