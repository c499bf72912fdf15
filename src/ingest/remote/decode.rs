//! A hand-written decoder of `prometheus.WriteRequest` (remote write 1.0) that borrows instead
//! of allocating: label names and values are byte ranges of the decompressed body, samples go
//! into one flat vector, and every vector is reused from one request to the next. It accepts
//! what prost's derived decoder of `proto::WriteRequest` accepts (unknown fields and groups
//! skipped, last value wins for repeated scalar fields, wire types of known fields checked) and
//! rejects the same malformed input with `RemoteError::InvalidProtobuf`. Exemplars, native
//! histograms and metadata are checked for well-formedness and counted, not kept.
//! Does not validate labels (that is `write.rs`) and does not decompress.

use super::RemoteError;

/// A byte range `[start, end)` of the decoded body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// The bytes of this span in `body` (empty if out of range, which a span made by the
    /// decoder for the same body never is).
    pub fn get(self, body: &[u8]) -> &[u8] {
        body.get(self.start as usize..self.end as usize).unwrap_or(&[])
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// One `prometheus.Label` as spans of the body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LabelSpan {
    pub name: Span,
    pub value: Span,
}

/// One `prometheus.TimeSeries`: its labels are `labels[labels_start..labels_end]` and its
/// samples `samples[samples_start..samples_end]` of the owning [`DecodedWrite`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeriesSpan {
    pub labels_start: u32,
    pub labels_end: u32,
    pub samples_start: u32,
    pub samples_end: u32,
}

/// A decoded write request: offsets into the body it was decoded from, reusable.
#[derive(Clone, Debug, Default)]
pub struct DecodedWrite {
    pub series: Vec<SeriesSpan>,
    pub labels: Vec<LabelSpan>,
    /// `(timestamp ms, value)` in request order.
    pub samples: Vec<(i64, f64)>,
    pub exemplars: usize,
    pub histograms: usize,
    pub metadata: usize,
}

impl DecodedWrite {
    pub fn clear(&mut self) {
        self.series.clear();
        self.labels.clear();
        self.samples.clear();
        self.exemplars = 0;
        self.histograms = 0;
        self.metadata = 0;
    }

    /// Labels of series `s`, in request order.
    pub fn series_labels(&self, s: &SeriesSpan) -> &[LabelSpan] {
        self.labels.get(s.labels_start as usize..s.labels_end as usize).unwrap_or(&[])
    }

    /// Samples of series `s`, in request order.
    pub fn series_samples(&self, s: &SeriesSpan) -> &[(i64, f64)] {
        self.samples.get(s.samples_start as usize..s.samples_end as usize).unwrap_or(&[])
    }
}

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_START_GROUP: u8 = 3;
const WIRE_END_GROUP: u8 = 4;
const WIRE_FIXED32: u8 = 5;
/// Nesting limit for skipped groups (prost's recursion limit is 100).
const GROUP_DEPTH_MAX: u32 = 100;

#[cold]
#[inline(never)]
fn bad(what: &str, at: usize) -> RemoteError {
    RemoteError::InvalidProtobuf(format!("{what} at byte {at}"))
}

/// A cursor over one message's bytes; `base` is the message's offset in the whole body.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn at(&self) -> usize {
        self.base + self.pos
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, RemoteError> {
        // One-byte varints (tags, lengths below 128, small timestamps deltas) are the rule.
        if let Some(&b) = self.buf.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.varint_slow()
    }

    fn varint_slow(&mut self) -> Result<u64, RemoteError> {
        let start = self.at();
        let mut x = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(bad("truncated varint", start));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(bad("varint overflows 64 bits", start));
            }
            x |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(x);
            }
        }
        Err(bad("varint overflows 64 bits", start))
    }

    /// The next field's number and wire type.
    #[inline]
    fn tag(&mut self) -> Result<(u32, u8), RemoteError> {
        let at = self.at();
        let key = self.varint()?;
        if key > u64::from(u32::MAX) {
            return Err(bad("invalid field key", at));
        }
        let (field, wire) = ((key >> 3) as u32, (key & 7) as u8);
        if field == 0 {
            return Err(bad("invalid field number 0", at));
        }
        if wire > WIRE_FIXED32 {
            return Err(bad("invalid wire type", at));
        }
        Ok((field, wire))
    }

    fn fixed64(&mut self) -> Result<u64, RemoteError> {
        let at = self.at();
        let b = self.buf.get(self.pos..self.pos + 8).ok_or_else(|| bad("truncated fixed64", at))?;
        self.pos += 8;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    /// A length-delimited field: its bytes and their offset in the body.
    #[inline]
    fn len_delimited(&mut self) -> Result<(&'a [u8], usize), RemoteError> {
        let at = self.at();
        let n = self.varint()?;
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(bad("length-delimited field runs past its message", at));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok((&self.buf[start..self.pos], self.base + start))
    }

    /// Skips a field of wire type `wire` whose key was just read (field `field`).
    fn skip(&mut self, field: u32, wire: u8, depth: u32) -> Result<(), RemoteError> {
        let at = self.at();
        match wire {
            WIRE_VARINT => {
                self.varint()?;
            }
            WIRE_FIXED64 => {
                self.fixed64()?;
            }
            WIRE_LEN => {
                self.len_delimited()?;
            }
            WIRE_FIXED32 => {
                if self.buf.len() - self.pos < 4 {
                    return Err(bad("truncated fixed32", at));
                }
                self.pos += 4;
            }
            WIRE_START_GROUP => {
                if depth >= GROUP_DEPTH_MAX {
                    return Err(bad("groups nested too deeply", at));
                }
                loop {
                    if self.done() {
                        return Err(bad("unterminated group", at));
                    }
                    let (f, w) = self.tag()?;
                    if w == WIRE_END_GROUP {
                        if f != field {
                            return Err(bad("mismatched end group", at));
                        }
                        return Ok(());
                    }
                    self.skip(f, w, depth + 1)?;
                }
            }
            _ => return Err(bad("unexpected end group", at)),
        }
        Ok(())
    }

    /// Checks that `wire` is what field `field` of `msg` needs.
    #[inline]
    fn expect(&self, wire: u8, want: u8, msg: &str, field: u32) -> Result<(), RemoteError> {
        if wire != want {
            return Err(wrong_wire(msg, field, wire, want, self.at()));
        }
        Ok(())
    }
}

#[cold]
#[inline(never)]
fn wrong_wire(msg: &str, field: u32, wire: u8, want: u8, at: usize) -> RemoteError {
    bad(&format!("{msg} field {field} has wire type {wire}, expected {want}"), at)
}

fn sub(bytes: &[u8], base: usize) -> Reader<'_> {
    Reader { buf: bytes, pos: 0, base }
}

/// Span of `len` bytes starting at body offset `at`. Offsets fit in u32: the body is at most
/// `body_size_bytes_max`, and longer bodies are refused before decoding.
fn span(at: usize, len: usize) -> Result<Span, RemoteError> {
    let start = u32::try_from(at).map_err(|_| bad("message too large", at))?;
    let end = u32::try_from(at + len).map_err(|_| bad("message too large", at))?;
    Ok(Span { start, end })
}

/// Decodes `body` (an uncompressed `prometheus.WriteRequest`) into `out`, which is cleared
/// first. The whole body is decoded before the series count is checked against `series_max`
/// (`TooManySeries`), so that malformed protobuf is always reported as such.
pub fn decode_write(body: &[u8], series_max: usize, out: &mut DecodedWrite) -> Result<(), RemoteError> {
    out.clear();
    if u32::try_from(body.len()).is_err() {
        return Err(bad("message too large", 0));
    }
    let mut r = sub(body, 0);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                r.expect(wire, WIRE_LEN, "WriteRequest", field)?;
                let (b, at) = r.len_delimited()?;
                decode_series(b, at, out)?;
            }
            3 => {
                r.expect(wire, WIRE_LEN, "WriteRequest", field)?;
                let (b, at) = r.len_delimited()?;
                check_metadata(b, at)?;
                out.metadata += 1;
            }
            _ => r.skip(field, wire, 0)?,
        }
    }
    if out.series.len() > series_max {
        return Err(RemoteError::TooManySeries { count: out.series.len(), limit: series_max });
    }
    Ok(())
}

fn decode_series(b: &[u8], base: usize, out: &mut DecodedWrite) -> Result<(), RemoteError> {
    let mut s = SeriesSpan {
        labels_start: out.labels.len() as u32,
        labels_end: 0,
        samples_start: out.samples.len() as u32,
        samples_end: 0,
    };
    let mut r = sub(b, base);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                r.expect(wire, WIRE_LEN, "TimeSeries", field)?;
                let (lb, at) = r.len_delimited()?;
                out.labels.push(decode_label(lb, at)?);
            }
            2 => {
                r.expect(wire, WIRE_LEN, "TimeSeries", field)?;
                let (sb, at) = r.len_delimited()?;
                out.samples.push(decode_sample(sb, at)?);
            }
            3 => {
                r.expect(wire, WIRE_LEN, "TimeSeries", field)?;
                let (eb, at) = r.len_delimited()?;
                check_exemplar(eb, at)?;
                out.exemplars += 1;
            }
            4 => {
                r.expect(wire, WIRE_LEN, "TimeSeries", field)?;
                r.len_delimited()?;
                out.histograms += 1;
            }
            _ => r.skip(field, wire, 0)?,
        }
    }
    s.labels_end = out.labels.len() as u32;
    s.samples_end = out.samples.len() as u32;
    out.series.push(s);
    Ok(())
}

fn decode_label(b: &[u8], base: usize) -> Result<LabelSpan, RemoteError> {
    // What every sender writes: name (field 1) then value (field 2), each shorter than 128.
    if let [0x0a, n, rest @ ..] = b
        && *n < 0x80
        && let [0x12, m, ..] = rest.get(*n as usize..).unwrap_or(&[])
        && *m < 0x80
        && 4 + *n as usize + *m as usize == b.len()
    {
        let name = span(base + 2, *n as usize)?;
        let value = span(base + 4 + *n as usize, *m as usize)?;
        return Ok(LabelSpan { name, value });
    }
    let mut l = LabelSpan::default();
    let mut r = sub(b, base);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 | 2 => {
                r.expect(wire, WIRE_LEN, "Label", field)?;
                let (v, at) = r.len_delimited()?;
                let sp = span(at, v.len())?;
                if field == 1 {
                    l.name = sp;
                } else {
                    l.value = sp;
                }
            }
            _ => r.skip(field, wire, 0)?,
        }
    }
    Ok(l)
}

fn decode_sample(b: &[u8], base: usize) -> Result<(i64, f64), RemoteError> {
    // What every sender writes: the double (field 1) then the timestamp (field 2).
    if let [0x09, v0, v1, v2, v3, v4, v5, v6, v7, 0x10, ts @ ..] = b {
        let mut r = sub(ts, base + 10);
        let t = r.varint()? as i64;
        if r.done() {
            return Ok((t, f64::from_bits(u64::from_le_bytes([*v0, *v1, *v2, *v3, *v4, *v5, *v6, *v7]))));
        }
    }
    let (mut t, mut v) = (0i64, 0f64);
    let mut r = sub(b, base);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                r.expect(wire, WIRE_FIXED64, "Sample", field)?;
                v = f64::from_bits(r.fixed64()?);
            }
            2 => {
                r.expect(wire, WIRE_VARINT, "Sample", field)?;
                t = r.varint()? as i64;
            }
            _ => r.skip(field, wire, 0)?,
        }
    }
    Ok((t, v))
}

/// `prometheus.Exemplar`: labels (1), value (2, double), timestamp (3, int64).
fn check_exemplar(b: &[u8], base: usize) -> Result<(), RemoteError> {
    let mut r = sub(b, base);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                r.expect(wire, WIRE_LEN, "Exemplar", field)?;
                let (lb, at) = r.len_delimited()?;
                decode_label(lb, at)?;
            }
            2 => {
                r.expect(wire, WIRE_FIXED64, "Exemplar", field)?;
                r.fixed64()?;
            }
            3 => {
                r.expect(wire, WIRE_VARINT, "Exemplar", field)?;
                r.varint()?;
            }
            _ => r.skip(field, wire, 0)?,
        }
    }
    Ok(())
}

/// `prometheus.MetricMetadata`: type (1, enum), family name (2), help (4), unit (5).
fn check_metadata(b: &[u8], base: usize) -> Result<(), RemoteError> {
    let mut r = sub(b, base);
    while !r.done() {
        let (field, wire) = r.tag()?;
        match field {
            1 => {
                r.expect(wire, WIRE_VARINT, "MetricMetadata", field)?;
                r.varint()?;
            }
            2 | 4 | 5 => {
                r.expect(wire, WIRE_LEN, "MetricMetadata", field)?;
                r.len_delimited()?;
            }
            _ => r.skip(field, wire, 0)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_point_into_the_body_and_buffers_are_reused() {
        #[rustfmt::skip]
        let body: Vec<u8> = vec![
            0x0a, 21,
              0x0a, 6, 0x0a, 1, b'a', 0x12, 1, b'b',
              0x12, 11, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 5,
            0x0a, 2, 0x1a, 0,                       // a series with one empty exemplar
            0x1a, 5, 0x08, 1, 0x12, 1, b'a',
        ];
        let mut d = DecodedWrite::default();
        decode_write(&body, 10, &mut d).unwrap();
        assert_eq!(d.series.len(), 2);
        let s0 = d.series[0];
        let l = d.series_labels(&s0);
        assert_eq!((l[0].name.get(&body), l[0].value.get(&body)), (&b"a"[..], &b"b"[..]));
        assert_eq!(d.series_samples(&s0), &[(5, 1.0)]);
        assert!(d.series_labels(&d.series[1]).is_empty());
        assert_eq!((d.exemplars, d.histograms, d.metadata), (1, 0, 1));
        // Decoding again into the same buffers starts from scratch.
        decode_write(&body[27..], 10, &mut d).unwrap();
        assert_eq!(
            (d.series.len(), d.labels.len(), d.samples.len(), d.exemplars, d.metadata),
            (0, 0, 0, 0, 1)
        );
        assert_eq!(
            decode_write(&body, 1, &mut d).unwrap_err(),
            RemoteError::TooManySeries { count: 2, limit: 1 }
        );
    }

    #[test]
    fn errors_name_the_byte() {
        let mut d = DecodedWrite::default();
        let e = decode_write(&[0x0a, 4, 0x0a, 9, 0, 0], 10, &mut d).unwrap_err();
        assert_eq!(e.to_string(), "invalid protobuf: length-delimited field runs past its message at byte 3");
    }
}
