//! "Did you mean ...?": near misses among known names, and common synonyms.

/// Words integrators bring from other systems, and what this language calls them.
const SYNONYMS: &[(&str, &str)] = &[
    // Tables.
    ("holding", "holding_register"),
    ("holding_registers", "holding_register"),
    ("hr", "holding_register"),
    ("register", "holding_register"),
    ("input_registers", "input_register"),
    ("ir", "input_register"),
    ("coils", "coil"),
    ("discrete", "discrete_input"),
    ("discrete_inputs", "discrete_input"),
    ("di", "discrete_input"),
    // Controller settings.
    ("slave", "unit"),
    ("slave_id", "unit"),
    ("unit_id", "unit"),
    ("poll", "poll_interval"),
    ("scan_interval", "poll_interval"),
    ("interval", "poll_interval"),
    ("tcp", "modbus_tcp"),
    ("rtu", "modbus_rtu"),
    ("serial", "modbus_rtu"),
    ("baudrate", "baud"),
    ("baud_rate", "baud"),
    ("bytesize", "data_bits"),
    ("stopbits", "stop_bits"),
    // Values.
    ("data_type", "type"),
    ("value_type", "type"),
    ("order", "byte_order"),
    ("word_order", "byte_order"),
    ("swap", "byte_order"),
    ("endian", "byte_order"),
    ("endianness", "byte_order"),
    ("multiplier", "scale"),
    ("factor", "scale"),
    ("mapping", "map"),
    ("values", "map"),
    ("enum", "map"),
    ("verify", "read_back"),
    ("feedback", "read_back"),
    ("normally", "idle_state"),
    ("idle", "idle_state"),
    ("inverted", "invert"),
    ("is_property", "property"),
    ("prefix", "token_prefix"),
    ("offset_address", "address_offset"),
    // Wire types.
    ("float", "f32"),
    ("float32", "f32"),
    ("real", "f32"),
    ("int16", "i16"),
    ("short", "i16"),
    ("int", "i16"),
    ("uint16", "u16"),
    ("word", "u16"),
    ("uint", "u16"),
    ("int32", "i32"),
    ("dint", "i32"),
    ("long", "i32"),
    ("uint32", "u32"),
    ("udint", "u32"),
    ("dword", "u32"),
    ("boolean", "bool"),
    ("bit", "bool"),
    // Item types written without their prefix.
    ("string", "xs:string"),
    ("integer", "xs:int"),
    ("double", "xs:double"),
    ("referencetoken", "tt:ReferenceToken"),
    ("token", "tt:ReferenceToken"),
    // Idle states and modes.
    ("no", "open"),
    ("nc", "closed"),
    ("normally_open", "open"),
    ("normally_closed", "closed"),
    ("pulse", "monostable"),
    ("momentary", "monostable"),
    ("latching", "bistable"),
    ("toggle", "bistable"),
];

/// The candidate `word` most likely meant, if any is close enough.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    // Exact but for case (ABCD vs abcd).
    if let Some(c) = candidates.iter().find(|c| c.eq_ignore_ascii_case(word)) {
        return Some(c);
    }
    // A known synonym, when it is allowed here.
    if let Some((_, to)) = SYNONYMS.iter().find(|(from, _)| *from == lower)
        && let Some(c) = candidates.iter().find(|c| *c == to)
    {
        return Some(c);
    }
    // `int` for `xs:int`: the candidate's local part.
    if let Some(c) = candidates.iter().find(|c| {
        c.split_once(':')
            .is_some_and(|(_, local)| local.eq_ignore_ascii_case(word))
    }) {
        return Some(c);
    }
    let limit = match lower.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        6..=9 => 2,
        _ => 3,
    };
    candidates
        .iter()
        .map(|c| (distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions), in chars.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// `; did you mean `x`?` or nothing.
pub(crate) fn hint(word: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates) {
        Some(c) => format!("; did you mean `{c}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_synonyms_and_case() {
        assert_eq!(did_you_mean("adress", &["address", "bit"]), Some("address"));
        assert_eq!(
            did_you_mean("holding", &["coil", "holding_register"]),
            Some("holding_register")
        );
        assert_eq!(did_you_mean("float", &["u16", "f32"]), Some("f32"));
        assert_eq!(did_you_mean("cdab", &["ABCD", "CDAB"]), Some("CDAB"));
        assert_eq!(did_you_mean("int", &["xs:int", "xs:float"]), Some("xs:int"));
        assert_eq!(did_you_mean("evn", &["none", "even", "odd"]), Some("even"));
        assert_eq!(did_you_mean("zzzzzz", &["coil"]), None);
        // A synonym that is not allowed here is not suggested.
        assert_eq!(did_you_mean("slave", &["coil"]), None);
    }

    #[test]
    fn distance_counts_transpositions_once() {
        assert_eq!(distance("tokne", "token"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("abc", "abc"), 0);
    }
}
