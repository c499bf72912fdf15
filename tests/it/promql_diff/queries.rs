//! The differential test's own PromQL queries (every function and operator family over the
//! generated data) and the evaluation times they run at. Owns only the query set; running,
//! rules and comparison live in the sibling modules.

use super::data::{END_MS, START_MS};

/// How one expression is evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Instant { time_ms: i64 },
    Range { start_ms: i64, end_ms: i64, step_ms: i64 },
}

/// How the parameters travel (both servers get the same): exercises the API's parameter
/// parsing as well as the engine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    /// GET, times as Unix seconds with milliseconds, step in seconds.
    GetUnix,
    /// GET, times as RFC 3339, step as a duration (`17s`).
    GetRfc3339,
    /// POST, form-encoded, Unix seconds.
    PostForm,
}

#[derive(Debug, Clone)]
pub struct Query {
    pub expr: String,
    pub mode: Mode,
    pub style: Style,
}

/// Instant evaluation times, used in rotation. All whole seconds (data timestamps never are).
/// Offsets relative to a minute matter for subquery alignment: most are not on a minute, one is.
pub const INSTANT_TIMES_MS: [i64; 7] = [
    END_MS - 127_000,             // near the end
    END_MS - 31 * 60_000 + 7_000, // the middle
    START_MS + 90_000,            // windows reach before the first sample
    END_MS + 200_000,             // after the last sample, inside the lookback
    END_MS - 600_000,             // on a minute: subquery windows may align (rule)
    END_MS + 290_000,             // the lookback barely reaches the last samples
    START_MS + 2_000_000,         // inside a gap longer than the lookback
];

/// Range evaluations, used in rotation.
pub const RANGES: [Mode; 4] = [
    // The whole data set and beyond on both sides, off the minute grid.
    Mode::Range { start_ms: START_MS - 113_000, end_ms: END_MS + 367_000, step_ms: 60_000 },
    // The last 25 minutes at an odd step.
    Mode::Range { start_ms: END_MS - 1_500_000, end_ms: END_MS - 3_000, step_ms: 17_000 },
    // A short window at a fine step around the end of the data.
    Mode::Range { start_ms: END_MS - 400_000, end_ms: END_MS + 360_000, step_ms: 10_000 },
    // A step longer than the lookback, starting an hour before the data.
    Mode::Range { start_ms: START_MS - 3_600_000 + 11_000, end_ms: END_MS, step_ms: 420_000 },
];

/// Every expression, each run once as an instant and once as a range query.
pub const EXPRS: &[&str] = &[
    // --- selectors, matchers, offset, @
    "http_requests_total",
    r#"http_requests_total{job="api"}"#,
    r#"http_requests_total{job!="api",code="500"}"#,
    r#"http_requests_total{job=~"api|db",instance=~"host-[01].*"}"#,
    r#"http_requests_total{instance!~"host-(0|1):9100",code!="200"}"#,
    r#"{__name__=~"cpu_.*",job="db"}"#,
    r#"{__name__="queue_depth"}"#,
    r#"queue_depth{nonexistent=""}"#,
    r#"queue_depth{job=""}"#,
    r#"queue_depth{job=~".*b.*"}"#,
    "cpu_temp_celsius offset 10m",
    "cpu_temp_celsius offset -7m",
    "cpu_temp_celsius @ 1767224000",
    "queue_depth @ start()",
    "queue_depth @ end()",
    "queue_depth offset 5m @ 1767225007",
    "queue_depth offset 1h",
    "weird_gauge",
    "node_info",
    "temperature_limit",
    "nonexistent_metric",
    r#"http_requests_total{job="cache"}[2m]"#,
    r#"cpu_temp_celsius{instance="host-0:9100"}[1m] offset 30s"#,
    "(queue_depth)",
    // --- rate family
    "rate(http_requests_total[5m])",
    "rate(http_requests_total[1m])",
    r#"rate(http_requests_total{code="200"}[17m])"#,
    "rate(cpu_seconds_total[2m] offset 3m)",
    "rate(http_requests_total[5m] @ end())",
    "rate(queue_depth[5m])",
    "irate(http_requests_total[5m])",
    r#"irate(cpu_seconds_total{mode="user"}[45s])"#,
    "increase(http_requests_total[10m])",
    "increase(request_duration_seconds_count[1h])",
    "delta(cpu_temp_celsius[10m])",
    "delta(queue_depth[3m])",
    "idelta(cpu_temp_celsius[2m])",
    "idelta(queue_depth[5m])",
    "deriv(cpu_temp_celsius[15m])",
    "deriv(queue_depth[5m])",
    "predict_linear(cpu_temp_celsius[10m], 600)",
    r#"predict_linear(http_requests_total{code="500"}[30m], 3600)"#,
    "holt_winters(cpu_temp_celsius[10m], 0.3, 0.6)",
    "holt_winters(queue_depth[20m], 0.8, 0.1)",
    "changes(queue_depth[10m])",
    "changes(weird_gauge[30m])",
    "resets(http_requests_total[30m])",
    "resets(queue_depth[15m])",
    // --- *_over_time
    "avg_over_time(cpu_temp_celsius[5m])",
    "min_over_time(cpu_temp_celsius[10m])",
    "max_over_time(queue_depth[7m])",
    "sum_over_time(queue_depth[5m])",
    "count_over_time(queue_depth[5m])",
    "quantile_over_time(0.9, cpu_temp_celsius[10m])",
    "quantile_over_time(0, queue_depth[5m])",
    "quantile_over_time(1.5, queue_depth[5m])",
    "stddev_over_time(cpu_temp_celsius[10m])",
    "stdvar_over_time(queue_depth[10m])",
    "last_over_time(queue_depth[10m])",
    "present_over_time(queue_depth[2m])",
    r#"absent_over_time(queue_depth{job="api",instance="host-3:9100"}[2m])"#,
    r#"absent_over_time(nonexistent_metric{job="x"}[5m])"#,
    "avg_over_time(weird_gauge[5m])",
    "max_over_time(weird_gauge[5m])",
    "min_over_time(weird_gauge[5m])",
    r#"sum_over_time(weird_gauge{kind="big"}[10m])"#,
    r#"stddev_over_time(weird_gauge{kind="tiny"}[10m])"#,
    r#"count_over_time({__name__=~"queue_depth|cpu_temp_celsius"}[1m])"#,
    // --- subqueries
    "max_over_time(rate(http_requests_total[1m])[10m:1m])",
    "avg_over_time(cpu_temp_celsius[10m:30s])",
    r#"rate(http_requests_total{job="api"}[5m:1m])"#,
    "min_over_time(deriv(cpu_temp_celsius[5m])[15m:2m] offset 5m)",
    "sum_over_time(queue_depth[10m:])",
    "max_over_time(sum by (job) (queue_depth)[30m:5m])",
    "quantile_over_time(0.5, rate(cpu_seconds_total[2m])[20m:1m] @ 1767225007)",
    "count_over_time(queue_depth[10m:1m])",
    "last_over_time(cpu_temp_celsius[5m:1m])",
    "deriv(avg by (job) (cpu_temp_celsius)[20m:1m])",
    // --- classic histograms
    "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
    "histogram_quantile(0.5, sum by (job, le) (rate(request_duration_seconds_bucket[10m])))",
    "histogram_quantile(0.99, sum by (le) (increase(request_duration_seconds_bucket[30m])))",
    "histogram_quantile(0, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(1, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(1.5, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(-0.5, sum by (le, job) (rate(request_duration_seconds_bucket[5m])))",
    "histogram_quantile(0.75, request_duration_seconds_bucket)",
    r#"histogram_quantile(0.5, sum without (instance) (rate(request_duration_seconds_bucket{le!="0.05"}[5m])))"#,
    r#"histogram_quantile(0.9, rate(request_duration_seconds_bucket{le!="+Inf"}[5m]))"#,
    "rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])",
    // --- label functions
    r#"label_replace(queue_depth, "host", "$1", "instance", "(.*):.*")"#,
    r#"label_replace(queue_depth, "job", "x-$1", "job", "(d.*)")"#,
    r#"label_replace(cpu_temp_celsius, "instance", "", "instance", ".*")"#,
    r#"label_replace(node_info, "new", "$2-$1", "instance", "host-(\\d+):(\\d+)")"#,
    r#"label_replace(queue_depth, "nomatch", "x", "job", "zzz")"#,
    r#"label_join(node_info, "id", "/", "job", "instance", "version")"#,
    r#"label_join(queue_depth, "job", "", "instance")"#,
    r#"label_join(cpu_temp_celsius, "empty", "-")"#,
    // --- math, rounding, clamp
    "abs(weird_gauge)",
    "ceil(cpu_temp_celsius)",
    "floor(cpu_temp_celsius)",
    "round(cpu_temp_celsius)",
    "round(cpu_temp_celsius, 5)",
    "round(cpu_temp_celsius, 0.3)",
    "sqrt(queue_depth)",
    "sqrt(cpu_temp_celsius)",
    "exp(cpu_temp_celsius / 10)",
    "ln(queue_depth)",
    "log2(http_requests_total)",
    "log10(weird_gauge)",
    "sgn(cpu_temp_celsius)",
    "clamp(cpu_temp_celsius, 0, 50)",
    "clamp(cpu_temp_celsius, 50, 0)",
    "clamp_min(queue_depth, 10)",
    "clamp_max(queue_depth, 10)",
    // --- trigonometry
    "sin(cpu_temp_celsius)",
    "cos(cpu_temp_celsius)",
    "tan(cpu_temp_celsius)",
    "asin(cpu_temp_celsius / 100)",
    "acos(cpu_temp_celsius / 100)",
    "atan(cpu_temp_celsius)",
    "sinh(cpu_temp_celsius / 10)",
    "cosh(cpu_temp_celsius / 10)",
    "tanh(cpu_temp_celsius / 10)",
    "asinh(cpu_temp_celsius)",
    "acosh(queue_depth)",
    "atanh(cpu_temp_celsius / 100)",
    "deg(cpu_temp_celsius)",
    "rad(cpu_temp_celsius)",
    "pi()",
    "cpu_temp_celsius atan2 queue_depth",
    "queue_depth atan2 on(job, instance) cpu_temp_celsius",
    // --- time functions
    "time()",
    "timestamp(queue_depth)",
    "timestamp(cpu_temp_celsius offset 5m)",
    "minute()",
    "hour()",
    "day_of_week()",
    "day_of_month()",
    "day_of_year()",
    "days_in_month()",
    "month()",
    "year()",
    "minute(timestamp(queue_depth))",
    "year(vector(1704067200))",
    "days_in_month(vector(1709251199))",
    "day_of_year(vector(1735603200))",
    "hour(vector(time() - 86400))",
    // --- sorting
    "sort(cpu_temp_celsius)",
    "sort_desc(queue_depth)",
    "sort(rate(http_requests_total[5m]))",
    "sort_desc(sum by (job) (queue_depth))",
    "sort(weird_gauge)",
    // --- absent, scalar, vector
    "absent(nonexistent_metric)",
    r#"absent(nonexistent_metric{job="x",instance=~"y"})"#,
    "absent(queue_depth)",
    r#"absent(queue_depth{job="api",instance="host-3:9100"})"#,
    "scalar(sum(queue_depth))",
    "scalar(queue_depth)",
    r#"queue_depth * scalar(temperature_limit{job="db"})"#,
    "vector(42)",
    "vector(time())",
    "scalar(vector(1)) + 2",
    // --- aggregations
    "sum(http_requests_total)",
    "sum by (job) (rate(http_requests_total[5m]))",
    "sum without (instance, code) (rate(http_requests_total[5m]))",
    "avg by (job) (cpu_temp_celsius)",
    "min by (instance) (cpu_temp_celsius)",
    "max without (instance) (queue_depth)",
    "count by (job) (queue_depth)",
    "count(weird_gauge)",
    "group by (job) (node_info)",
    "group without (version) (node_info)",
    "stddev by (job) (cpu_temp_celsius)",
    "stdvar(queue_depth)",
    "topk(3, cpu_temp_celsius)",
    "topk by (job) (1, cpu_temp_celsius)",
    "bottomk(2, rate(http_requests_total[5m]))",
    "bottomk without (instance) (1, cpu_temp_celsius)",
    "topk(2, weird_gauge)",
    "topk(scalar(count(temperature_limit)), cpu_temp_celsius)",
    "quantile(0.5, cpu_temp_celsius)",
    "quantile by (job) (0.9, queue_depth)",
    "quantile(0, queue_depth)",
    "quantile(1.1, queue_depth)",
    r#"count_values("value", queue_depth)"#,
    r#"count_values by (job) ("v", ceil(cpu_temp_celsius / 10))"#,
    r#"avg(weird_gauge{kind="big"})"#,
    r#"sum by (__name__) ({__name__=~"queue_depth|cpu_temp_celsius"})"#,
    "max by (le) (request_duration_seconds_bucket)",
    "sum by () (queue_depth)",
    "count(http_requests_total) by (job)",
    "sum(rate(http_requests_total[5m])) by (job) > 1",
    "topk(1, sum by (job) (rate(http_requests_total[5m])))",
    // --- arithmetic, scalar/vector and vector/vector
    "http_requests_total + 1",
    "2 * cpu_temp_celsius",
    "1 / queue_depth",
    "queue_depth % 7",
    "cpu_temp_celsius % -3",
    "2 ^ (queue_depth / 10)",
    "queue_depth ^ 0.5",
    "-cpu_temp_celsius",
    "-queue_depth offset 1m",
    "1 + 2 * 3",
    "2 ^ 3 ^ 2",
    "10 % 3",
    "-(2 ^ 2)",
    "1 / 0",
    "0 / 0",
    "time() - 3600",
    "cpu_temp_celsius - queue_depth",
    "cpu_temp_celsius / ignoring(version) node_info",
    "sum(queue_depth) - sum(queue_depth offset 5m)",
    "rate(http_requests_total[5m]) / on(job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))",
    "cpu_temp_celsius * on(job, instance) group_left(version) node_info",
    "node_info * on(job, instance) group_right(version) cpu_temp_celsius",
    "temperature_limit - on(job) group_right cpu_temp_celsius",
    "sum by (job) (queue_depth) / on(job) temperature_limit",
    "cpu_temp_celsius + on(job) queue_depth",
    // --- comparisons, with and without bool
    "cpu_temp_celsius > 40",
    "cpu_temp_celsius > bool 40",
    "queue_depth == 10",
    "queue_depth != bool 10",
    "queue_depth <= 5",
    "queue_depth >= bool 30",
    "40 < cpu_temp_celsius",
    "1 == bool 1",
    "2 < bool 1",
    "cpu_temp_celsius > queue_depth",
    "cpu_temp_celsius < bool queue_depth",
    "queue_depth == ignoring(instance) group_left max by (job) (queue_depth)",
    "cpu_temp_celsius > on(job) group_left temperature_limit",
    // --- set operators
    "queue_depth and cpu_temp_celsius > 40",
    "queue_depth or cpu_temp_celsius",
    "queue_depth unless queue_depth > 30",
    "queue_depth and on(job) temperature_limit > 50",
    "cpu_temp_celsius or on(job) temperature_limit",
    "node_info unless ignoring(version) queue_depth",
    "(queue_depth > 50) or (cpu_temp_celsius < 0)",
    "vector(1) and on() absent(nonexistent_metric)",
    "timestamp(queue_depth @ start())",
    // --- edge cases: NaN, staleness, births, nesting
    "increase(queue_depth[10m])",
    r#"rate(queue_depth{job="cache"}[3m])"#,
    "irate(queue_depth[1m])",
    "deriv(http_requests_total[10m])",
    "predict_linear(queue_depth[5m], -300)",
    "sum(weird_gauge)",
    "max(weird_gauge)",
    "min by (kind) (weird_gauge)",
    "avg(weird_gauge)",
    "quantile(0.5, weird_gauge)",
    "bottomk(2, weird_gauge)",
    "sort_desc(weird_gauge)",
    r#"count_values("x", weird_gauge)"#,
    "quantile_over_time(0.5, weird_gauge[10m])",
    "stddev_over_time(weird_gauge[10m])",
    "weird_gauge > 3",
    "weird_gauge == bool weird_gauge",
    r#"label_replace(queue_depth, "__name__", "renamed_$1", "job", "(.*)")"#,
    "vector(1) + on() group_left() temperature_limit",
    "max_over_time(min_over_time(cpu_temp_celsius[5m:1m])[20m:3m])",
    "avg_over_time(cpu_temp_celsius[10m:1m] offset -2m)",
    "sum_over_time(rate(http_requests_total[2m])[7m:30s] @ end())",
    "-time()",
    "scalar(sum(rate(http_requests_total[5m])))",
    "last_over_time(queue_depth[30m])",
    "count(queue_depth offset 10m) - count(queue_depth)",
    "http_requests_total - http_requests_total offset 1m",
    r#"request_duration_seconds_bucket{le="0.25"} / ignoring(le) request_duration_seconds_count"#,
    "sum by (le) (request_duration_seconds_bucket) unless on(le) request_duration_seconds_bucket{le=\"+Inf\"}",
    "timestamp(rate(http_requests_total[5m]))",
    "queue_depth != 10",
    "queue_depth >= 30",
    "cpu_temp_celsius <= bool 0",
    "queue_depth < bool 3",
    "cpu_temp_celsius == bool ignoring(version) node_info",
    "100 - cpu_temp_celsius",
    "queue_depth % on(job, instance) cpu_temp_celsius",
    "cpu_temp_celsius ^ ignoring(version) node_info",
    "queue_depth or ignoring(instance) temperature_limit",
    "node_info and ignoring(version) (queue_depth > 20)",
    // --- numeric edge cases
    "histogram_quantile(0.5, odd_histogram_bucket)",
    "histogram_quantile(0.95, odd_histogram_bucket)",
    r#"stddev_over_time(weird_gauge{kind="big"}[10m])"#,
    r#"stdvar by (kind) (weird_gauge)"#,
    "stddev(weird_gauge)",
    r#"absent({__name__=~"nonexistent.*",job="x"})"#,
    r#"round(weird_gauge{kind="negative"})"#,
    r#"round(weird_gauge{kind="negative"}, 2)"#,
    r#"round(cpu_temp_celsius, -10)"#,
    "sgn(queue_depth)",
    "weird_gauge == weird_gauge",
    "sum by (nonexistent_label) (queue_depth)",
    "-1 / 0",
    "1 atan2 2",
    "cpu_temp_celsius ^ 0.5",
    "exp(weird_gauge)",
    "ln(cpu_temp_celsius)",
    "atanh(clamp(cpu_temp_celsius, -1, 1))",
    "day_of_week(vector(-86400))",
    "month(vector(-1))",
    "year(vector(-3153600000))",
    "vector(scalar(sum(queue_depth)))",
    "ceil(weird_gauge)",
    "floor(-cpu_temp_celsius / 7)",
    // --- odd arguments and runtime errors
    r#"label_replace(queue_depth, "1bad", "x", "job", ".*")"#,
    r#"count_values("1bad", queue_depth)"#,
    r#"label_replace(queue_depth, "x", "y", "job", "(")"#,
    r#"label_join(queue_depth, "x", "-", "job", "1bad")"#,
    "histogram_quantile(0.5, queue_depth)",
    "topk(0, queue_depth)",
    "bottomk(-1, queue_depth)",
    "sort(vector(1))",
    "max_over_time(queue_depth[1m:5m])",
    "timestamp(timestamp(queue_depth))",
    r#"sum_over_time(weird_gauge{kind="tiny"}[1h])"#,
    "count_over_time(http_requests_total[2h])",
    // --- precedence, grouping corner cases, short windows
    "-2 ^ 2",
    "2 * 3 % 2",
    "1 + 2 > bool 2 * 1",
    "- queue_depth ^ 2",
    "queue_depth > 40 or cpu_temp_celsius > 60 and node_info",
    "sum without (__name__) ({__name__=~\"queue_depth|cpu_temp_celsius\"})",
    r#"count_values by (job) ("job", queue_depth)"#,
    "quantile(0 / 0, queue_depth)",
    "topk(2.7, cpu_temp_celsius)",
    "histogram_quantile(0.5, request_duration_seconds_bucket * 0)",
    "sort_desc(-cpu_temp_celsius)",
    "rate(http_requests_total[15s])",
    "irate(http_requests_total[20s])",
    "changes(cpu_temp_celsius[10m:1m])",
    "predict_linear(avg by (job) (cpu_temp_celsius)[15m:1m], 300)",
    "absent_over_time(nonexistent_metric[5m:1m])",
    "last_over_time(cpu_temp_celsius[5m] @ 1767224000)",
    "quantile_over_time(0.5, queue_depth[5m:1m])",
    "absent(nonexistent_metric @ 1767224000)",
    "node_info * on(job, instance) group_right(version) (cpu_temp_celsius > bool 40)",
    // --- NaN arguments and NaN samples
    "holt_winters(cpu_temp_celsius[10m], 1, 0.5)",
    "holt_winters(cpu_temp_celsius[10m], 0.5, 0)",
    "quantile_over_time(-1, queue_depth[5m])",
    "round(queue_depth, 0)",
    "clamp_min(queue_depth, 0 / 0)",
    "clamp_max(cpu_temp_celsius, 0 / 0)",
    "clamp(queue_depth, 0 / 0, 10)",
    r#"scalar(weird_gauge{kind="nan"})"#,
    "weird_gauge > bool 0",
    "delta(weird_gauge[5m])",
    "deriv(weird_gauge[5m])",
    "rate(weird_gauge[5m])",
    "holt_winters(weird_gauge[5m], 0.5, 0.5)",
    "queue_depth ^ (0 / 0)",
    "idelta(weird_gauge[1m])",
    "resets(weird_gauge[10m])",
    // --- series churn (label change with a stale marker)
    "build_info",
    "count by (version) (build_info)",
    "cpu_temp_celsius * on(job, instance) group_left(version) build_info",
    "changes(build_info[30m])",
    "count_over_time(build_info[20m])",
    "build_info offset 20m",
    "last_over_time(build_info[1h])",
    "absent_over_time(build_info{version=\"1.0\"}[5m])",
];

/// Expressions generated as cross products, for breadth: every range function over every kind
/// of series at several windows and offsets, every aggregation with both grouping forms, every
/// binary operator in each operand shape.
pub fn generated() -> Vec<String> {
    let mut out = Vec::new();
    let range_fns = [
        "rate",
        "irate",
        "increase",
        "delta",
        "idelta",
        "deriv",
        "changes",
        "resets",
        "avg_over_time",
        "min_over_time",
        "max_over_time",
        "sum_over_time",
        "count_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "last_over_time",
        "present_over_time",
    ];
    let selectors = [r#"http_requests_total{code="500"}"#, "cpu_temp_celsius", "queue_depth"];
    let windows = [("45s", ""), ("3m", " offset 2m"), ("11m", " offset -3m")];
    for f in range_fns {
        for sel in selectors {
            for (w, off) in windows {
                out.push(format!("{f}({sel}[{w}]{off})"));
            }
        }
    }
    let aggs = [
        "sum",
        "avg",
        "min",
        "max",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk(2, ",
        "bottomk(2, ",
        "quantile(0.3, ",
        r#"count_values("v", "#,
    ];
    let inputs = ["rate(http_requests_total[5m])", "cpu_temp_celsius"];
    let groupings = ["by (job)", "without (instance)"];
    for a in aggs {
        for input in inputs {
            for g in groupings {
                let (name, param) = match a.split_once('(') {
                    Some((n, p)) => (n, p),
                    None => (a, ""),
                };
                out.push(format!("{name} {g} ({param}{input})"));
            }
        }
    }
    let ops = ["+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<="];
    let shapes = [
        ("queue_depth", "7"),
        ("3", "cpu_temp_celsius"),
        ("cpu_temp_celsius", "queue_depth"),
        ("cpu_temp_celsius", "on(job) group_left temperature_limit"),
    ];
    for op in ops {
        for (l, r) in shapes {
            out.push(format!("{l} {op} {r}"));
        }
        if !matches!(op, "+" | "-" | "*" | "/" | "%" | "^" | "atan2") {
            out.push(format!("cpu_temp_celsius {op} bool queue_depth"));
        }
    }
    for op in ["and", "or", "unless"] {
        out.push(format!("queue_depth {op} on(job) (temperature_limit > 50)"));
        out.push(format!("cpu_temp_celsius {op} ignoring(version) node_info{{version=\"v1.2\"}}"));
    }
    out
}

/// Every query: each expression (hand-written, then generated) as an instant query (times in
/// rotation) and a range query (ranges in rotation), request styles in rotation.
pub fn all() -> Vec<Query> {
    let styles = [Style::GetUnix, Style::GetRfc3339, Style::PostForm];
    let exprs: Vec<String> = EXPRS.iter().map(|e| e.to_string()).chain(generated()).collect();
    let mut out = Vec::with_capacity(exprs.len() * 2);
    for (i, expr) in exprs.into_iter().enumerate() {
        let time_ms = INSTANT_TIMES_MS[i % INSTANT_TIMES_MS.len()];
        out.push(Query { expr: expr.clone(), mode: Mode::Instant { time_ms }, style: styles[i % 3] });
        out.push(Query { expr, mode: RANGES[i % RANGES.len()], style: styles[(i + 1) % 3] });
    }
    out
}
