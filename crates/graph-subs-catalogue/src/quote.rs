//! How user text is shown in a message: shortened when long, with invisible characters
//! made visible, and with letters that only look like ASCII named.
//!
//! Every message that repeats what a user wrote goes through [`shortened`], so that a
//! 1 MB resource path gives a one-line message, and a zero-width space is seen, not
//! silently copied. [`suspicious`] finds the first character a reader would mistake:
//! an invisible one (`U+200B ZERO WIDTH SPACE`) or a lookalike letter (`U+0435 CYRILLIC
//! SMALL LETTER IE`, which looks like `e`).
//!
//! ```
//! use graph_subs_catalogue::quote::{shortened, suspicious};
//!
//! assert_eq!(shortened("me/messages").to_string(), "me/messages");
//! assert_eq!(shortened("a\u{200b}b").to_string(), "a\\u{200b}b");
//! let long = "x".repeat(1_000_000);
//! assert!(shortened(&long).to_string().len() < 100);
//!
//! let found = suspicious("me/m\u{435}ssages").unwrap();
//! assert_eq!(found.to_string(), "U+0435 CYRILLIC SMALL LETTER IE, which looks like `e`");
//! ```

use std::fmt;

/// How many characters of a value a message shows before cutting it.
pub const SHOWN: usize = 60;

/// A value as a message shows it: at most [`SHOWN`] characters and a count of the rest,
/// invisible and control characters written as `\u{...}` escapes.
#[derive(Debug, Clone, Copy)]
pub struct Shortened<'a>(&'a str, usize);

/// Shows `text` in a message.
pub fn shortened(text: &str) -> Shortened<'_> {
    Shortened(text, SHOWN)
}

/// Shows `text` in a message, at most `shown` characters of it.
pub fn shortened_to(text: &str, shown: usize) -> Shortened<'_> {
    Shortened(text, shown.max(1))
}

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = 0;
        let mut chars = self.0.chars();
        for c in chars.by_ref() {
            if c.is_control() || is_invisible(c) {
                write!(f, "\\u{{{:x}}}", u32::from(c))?;
            } else {
                write!(f, "{c}")?;
            }
            shown += 1;
            if shown == self.1 {
                break;
            }
        }
        let rest = chars.count();
        if rest > 0 {
            write!(f, "… ({rest} more characters)")?;
        }
        Ok(())
    }
}

/// `text` as a message may show a URL: user-info, query values and the fragment replaced
/// by `***`, cut to `shown` characters. Works on any text, URL or not (a URL that does not
/// parse carries its secrets all the same): everything between the scheme's `://` (or the
/// start) and the last `@` is user-info, whatever characters it holds.
///
/// ```
/// use graph_subs_catalogue::quote::redact_url;
///
/// assert_eq!(
///     redact_url("https://u:pa/ss@h.example.com/a?code=x&y#frag", 200),
///     "https://***@h.example.com/a?code=***&***#***"
/// );
/// assert_eq!(redact_url("user:secret@https://h.example.com/", 200), "***@https://h.example.com/");
/// ```
pub fn redact_url(text: &str, shown: usize) -> String {
    let mut out = String::new();
    let rest = match text.rfind('@') {
        Some(at) => {
            if let Some(scheme_end) = text[..at].find("://") {
                out.push_str(&text[..scheme_end + 3]);
            }
            out.push_str("***@");
            &text[at + 1..]
        }
        None => match text.find("://") {
            Some(i) => {
                out.push_str(&text[..i + 3]);
                &text[i + 3..]
            }
            None => text,
        },
    };
    let (before_fragment, fragment) = match rest.split_once('#') {
        Some((b, _)) => (b, true),
        None => (rest, false),
    };
    match before_fragment.split_once('?') {
        Some((before_query, query)) => {
            out.push_str(before_query);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((name, _)) => format!("{}=***", shortened(name)),
                    None if param.is_empty() => String::new(),
                    None => "***".to_owned(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(before_fragment),
    }
    if fragment {
        out.push_str("#***");
    }
    shortened_to(&out, shown).to_string()
}

/// A value as a message may show it: redacted like a URL when it holds one (`://`),
/// otherwise [`shortened`]. For values a user may paste a URL into by mistake, such as a
/// resource path.
pub fn value(text: &str) -> String {
    if text.contains("://") {
        redact_url(text, 200)
    } else {
        shortened(text).to_string()
    }
}

/// A character a reader would mistake, named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspicious {
    /// The character.
    pub found: char,
    /// Its Unicode name: `ZERO WIDTH SPACE`.
    pub name: &'static str,
    /// The ASCII character it looks like, for a lookalike; `None` for an invisible one.
    pub looks_like: Option<char>,
}

impl fmt::Display for Suspicious {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X} {}", u32::from(self.found), self.name)?;
        match self.looks_like {
            Some(ascii) => write!(f, ", which looks like `{ascii}`"),
            None => write!(f, ", which is invisible"),
        }
    }
}

/// Characters that print as nothing (or as a plain space) but are not ASCII white space.
const INVISIBLE: &[(char, &str)] = &[
    ('\u{a0}', "NO-BREAK SPACE"),
    ('\u{ad}', "SOFT HYPHEN"),
    ('\u{34f}', "COMBINING GRAPHEME JOINER"),
    ('\u{61c}', "ARABIC LETTER MARK"),
    ('\u{115f}', "HANGUL CHOSEONG FILLER"),
    ('\u{1160}', "HANGUL JUNGSEONG FILLER"),
    ('\u{17b4}', "KHMER VOWEL INHERENT AQ"),
    ('\u{17b5}', "KHMER VOWEL INHERENT AA"),
    ('\u{180e}', "MONGOLIAN VOWEL SEPARATOR"),
    ('\u{2000}', "EN QUAD"),
    ('\u{2001}', "EM QUAD"),
    ('\u{2002}', "EN SPACE"),
    ('\u{2003}', "EM SPACE"),
    ('\u{2004}', "THREE-PER-EM SPACE"),
    ('\u{2005}', "FOUR-PER-EM SPACE"),
    ('\u{2006}', "SIX-PER-EM SPACE"),
    ('\u{2007}', "FIGURE SPACE"),
    ('\u{2008}', "PUNCTUATION SPACE"),
    ('\u{2009}', "THIN SPACE"),
    ('\u{200a}', "HAIR SPACE"),
    ('\u{200b}', "ZERO WIDTH SPACE"),
    ('\u{200c}', "ZERO WIDTH NON-JOINER"),
    ('\u{200d}', "ZERO WIDTH JOINER"),
    ('\u{200e}', "LEFT-TO-RIGHT MARK"),
    ('\u{200f}', "RIGHT-TO-LEFT MARK"),
    ('\u{2028}', "LINE SEPARATOR"),
    ('\u{2029}', "PARAGRAPH SEPARATOR"),
    ('\u{202a}', "LEFT-TO-RIGHT EMBEDDING"),
    ('\u{202b}', "RIGHT-TO-LEFT EMBEDDING"),
    ('\u{202c}', "POP DIRECTIONAL FORMATTING"),
    ('\u{202d}', "LEFT-TO-RIGHT OVERRIDE"),
    ('\u{202e}', "RIGHT-TO-LEFT OVERRIDE"),
    ('\u{202f}', "NARROW NO-BREAK SPACE"),
    ('\u{205f}', "MEDIUM MATHEMATICAL SPACE"),
    ('\u{2060}', "WORD JOINER"),
    ('\u{2061}', "FUNCTION APPLICATION"),
    ('\u{2062}', "INVISIBLE TIMES"),
    ('\u{2063}', "INVISIBLE SEPARATOR"),
    ('\u{2064}', "INVISIBLE PLUS"),
    ('\u{2066}', "LEFT-TO-RIGHT ISOLATE"),
    ('\u{2067}', "RIGHT-TO-LEFT ISOLATE"),
    ('\u{2068}', "FIRST STRONG ISOLATE"),
    ('\u{2069}', "POP DIRECTIONAL ISOLATE"),
    ('\u{3000}', "IDEOGRAPHIC SPACE"),
    ('\u{3164}', "HANGUL FILLER"),
    ('\u{fe0e}', "VARIATION SELECTOR-15"),
    ('\u{fe0f}', "VARIATION SELECTOR-16"),
    ('\u{feff}', "ZERO WIDTH NO-BREAK SPACE (BYTE ORDER MARK)"),
    ('\u{ffa0}', "HALFWIDTH HANGUL FILLER"),
];

/// Letters of other scripts that look like ASCII letters, as fonts draw them.
const LOOKALIKES: &[(char, &str, char)] = &[
    ('\u{131}', "LATIN SMALL LETTER DOTLESS I", 'i'),
    ('\u{391}', "GREEK CAPITAL LETTER ALPHA", 'A'),
    ('\u{392}', "GREEK CAPITAL LETTER BETA", 'B'),
    ('\u{395}', "GREEK CAPITAL LETTER EPSILON", 'E'),
    ('\u{396}', "GREEK CAPITAL LETTER ZETA", 'Z'),
    ('\u{397}', "GREEK CAPITAL LETTER ETA", 'H'),
    ('\u{399}', "GREEK CAPITAL LETTER IOTA", 'I'),
    ('\u{39a}', "GREEK CAPITAL LETTER KAPPA", 'K'),
    ('\u{39c}', "GREEK CAPITAL LETTER MU", 'M'),
    ('\u{39d}', "GREEK CAPITAL LETTER NU", 'N'),
    ('\u{39f}', "GREEK CAPITAL LETTER OMICRON", 'O'),
    ('\u{3a1}', "GREEK CAPITAL LETTER RHO", 'P'),
    ('\u{3a4}', "GREEK CAPITAL LETTER TAU", 'T'),
    ('\u{3a5}', "GREEK CAPITAL LETTER UPSILON", 'Y'),
    ('\u{3a7}', "GREEK CAPITAL LETTER CHI", 'X'),
    ('\u{3b1}', "GREEK SMALL LETTER ALPHA", 'a'),
    ('\u{3b9}', "GREEK SMALL LETTER IOTA", 'i'),
    ('\u{3ba}', "GREEK SMALL LETTER KAPPA", 'k'),
    ('\u{3bd}', "GREEK SMALL LETTER NU", 'v'),
    ('\u{3bf}', "GREEK SMALL LETTER OMICRON", 'o'),
    ('\u{3c1}', "GREEK SMALL LETTER RHO", 'p'),
    ('\u{3c5}', "GREEK SMALL LETTER UPSILON", 'u'),
    ('\u{405}', "CYRILLIC CAPITAL LETTER DZE", 'S'),
    (
        '\u{406}',
        "CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I",
        'I',
    ),
    ('\u{408}', "CYRILLIC CAPITAL LETTER JE", 'J'),
    ('\u{410}', "CYRILLIC CAPITAL LETTER A", 'A'),
    ('\u{412}', "CYRILLIC CAPITAL LETTER VE", 'B'),
    ('\u{415}', "CYRILLIC CAPITAL LETTER IE", 'E'),
    ('\u{41a}', "CYRILLIC CAPITAL LETTER KA", 'K'),
    ('\u{41c}', "CYRILLIC CAPITAL LETTER EM", 'M'),
    ('\u{41d}', "CYRILLIC CAPITAL LETTER EN", 'H'),
    ('\u{41e}', "CYRILLIC CAPITAL LETTER O", 'O'),
    ('\u{420}', "CYRILLIC CAPITAL LETTER ER", 'P'),
    ('\u{421}', "CYRILLIC CAPITAL LETTER ES", 'C'),
    ('\u{422}', "CYRILLIC CAPITAL LETTER TE", 'T'),
    ('\u{425}', "CYRILLIC CAPITAL LETTER HA", 'X'),
    ('\u{430}', "CYRILLIC SMALL LETTER A", 'a'),
    ('\u{435}', "CYRILLIC SMALL LETTER IE", 'e'),
    ('\u{43e}', "CYRILLIC SMALL LETTER O", 'o'),
    ('\u{440}', "CYRILLIC SMALL LETTER ER", 'p'),
    ('\u{441}', "CYRILLIC SMALL LETTER ES", 'c'),
    ('\u{443}', "CYRILLIC SMALL LETTER U", 'y'),
    ('\u{445}', "CYRILLIC SMALL LETTER HA", 'x'),
    ('\u{455}', "CYRILLIC SMALL LETTER DZE", 's'),
    (
        '\u{456}',
        "CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I",
        'i',
    ),
    ('\u{458}', "CYRILLIC SMALL LETTER JE", 'j'),
    ('\u{4bb}', "CYRILLIC SMALL LETTER SHHA", 'h'),
    ('\u{4cf}', "CYRILLIC SMALL LETTER PALOCHKA", 'l'),
    ('\u{501}', "CYRILLIC SMALL LETTER KOMI DE", 'd'),
    ('\u{51b}', "CYRILLIC SMALL LETTER QA", 'q'),
    ('\u{51d}', "CYRILLIC SMALL LETTER WE", 'w'),
    ('\u{2113}', "SCRIPT SMALL L", 'l'),
];

/// Fullwidth forms of ASCII (`ｍｅ`), named by the ASCII character they widen.
const FULLWIDTH: std::ops::RangeInclusive<u32> = 0xff01..=0xff5e;
const FULLWIDTH_OFFSET: u32 = 0xff01 - 0x21;

/// The Unicode names of the fullwidth forms, in code point order.
const FULLWIDTH_NAMES: [&str; 94] = [
    "FULLWIDTH EXCLAMATION MARK",
    "FULLWIDTH QUOTATION MARK",
    "FULLWIDTH NUMBER SIGN",
    "FULLWIDTH DOLLAR SIGN",
    "FULLWIDTH PERCENT SIGN",
    "FULLWIDTH AMPERSAND",
    "FULLWIDTH APOSTROPHE",
    "FULLWIDTH LEFT PARENTHESIS",
    "FULLWIDTH RIGHT PARENTHESIS",
    "FULLWIDTH ASTERISK",
    "FULLWIDTH PLUS SIGN",
    "FULLWIDTH COMMA",
    "FULLWIDTH HYPHEN-MINUS",
    "FULLWIDTH FULL STOP",
    "FULLWIDTH SOLIDUS",
    "FULLWIDTH DIGIT ZERO",
    "FULLWIDTH DIGIT ONE",
    "FULLWIDTH DIGIT TWO",
    "FULLWIDTH DIGIT THREE",
    "FULLWIDTH DIGIT FOUR",
    "FULLWIDTH DIGIT FIVE",
    "FULLWIDTH DIGIT SIX",
    "FULLWIDTH DIGIT SEVEN",
    "FULLWIDTH DIGIT EIGHT",
    "FULLWIDTH DIGIT NINE",
    "FULLWIDTH COLON",
    "FULLWIDTH SEMICOLON",
    "FULLWIDTH LESS-THAN SIGN",
    "FULLWIDTH EQUALS SIGN",
    "FULLWIDTH GREATER-THAN SIGN",
    "FULLWIDTH QUESTION MARK",
    "FULLWIDTH COMMERCIAL AT",
    "FULLWIDTH LATIN CAPITAL LETTER A",
    "FULLWIDTH LATIN CAPITAL LETTER B",
    "FULLWIDTH LATIN CAPITAL LETTER C",
    "FULLWIDTH LATIN CAPITAL LETTER D",
    "FULLWIDTH LATIN CAPITAL LETTER E",
    "FULLWIDTH LATIN CAPITAL LETTER F",
    "FULLWIDTH LATIN CAPITAL LETTER G",
    "FULLWIDTH LATIN CAPITAL LETTER H",
    "FULLWIDTH LATIN CAPITAL LETTER I",
    "FULLWIDTH LATIN CAPITAL LETTER J",
    "FULLWIDTH LATIN CAPITAL LETTER K",
    "FULLWIDTH LATIN CAPITAL LETTER L",
    "FULLWIDTH LATIN CAPITAL LETTER M",
    "FULLWIDTH LATIN CAPITAL LETTER N",
    "FULLWIDTH LATIN CAPITAL LETTER O",
    "FULLWIDTH LATIN CAPITAL LETTER P",
    "FULLWIDTH LATIN CAPITAL LETTER Q",
    "FULLWIDTH LATIN CAPITAL LETTER R",
    "FULLWIDTH LATIN CAPITAL LETTER S",
    "FULLWIDTH LATIN CAPITAL LETTER T",
    "FULLWIDTH LATIN CAPITAL LETTER U",
    "FULLWIDTH LATIN CAPITAL LETTER V",
    "FULLWIDTH LATIN CAPITAL LETTER W",
    "FULLWIDTH LATIN CAPITAL LETTER X",
    "FULLWIDTH LATIN CAPITAL LETTER Y",
    "FULLWIDTH LATIN CAPITAL LETTER Z",
    "FULLWIDTH LEFT SQUARE BRACKET",
    "FULLWIDTH REVERSE SOLIDUS",
    "FULLWIDTH RIGHT SQUARE BRACKET",
    "FULLWIDTH CIRCUMFLEX ACCENT",
    "FULLWIDTH LOW LINE",
    "FULLWIDTH GRAVE ACCENT",
    "FULLWIDTH LATIN SMALL LETTER A",
    "FULLWIDTH LATIN SMALL LETTER B",
    "FULLWIDTH LATIN SMALL LETTER C",
    "FULLWIDTH LATIN SMALL LETTER D",
    "FULLWIDTH LATIN SMALL LETTER E",
    "FULLWIDTH LATIN SMALL LETTER F",
    "FULLWIDTH LATIN SMALL LETTER G",
    "FULLWIDTH LATIN SMALL LETTER H",
    "FULLWIDTH LATIN SMALL LETTER I",
    "FULLWIDTH LATIN SMALL LETTER J",
    "FULLWIDTH LATIN SMALL LETTER K",
    "FULLWIDTH LATIN SMALL LETTER L",
    "FULLWIDTH LATIN SMALL LETTER M",
    "FULLWIDTH LATIN SMALL LETTER N",
    "FULLWIDTH LATIN SMALL LETTER O",
    "FULLWIDTH LATIN SMALL LETTER P",
    "FULLWIDTH LATIN SMALL LETTER Q",
    "FULLWIDTH LATIN SMALL LETTER R",
    "FULLWIDTH LATIN SMALL LETTER S",
    "FULLWIDTH LATIN SMALL LETTER T",
    "FULLWIDTH LATIN SMALL LETTER U",
    "FULLWIDTH LATIN SMALL LETTER V",
    "FULLWIDTH LATIN SMALL LETTER W",
    "FULLWIDTH LATIN SMALL LETTER X",
    "FULLWIDTH LATIN SMALL LETTER Y",
    "FULLWIDTH LATIN SMALL LETTER Z",
    "FULLWIDTH LEFT CURLY BRACKET",
    "FULLWIDTH VERTICAL LINE",
    "FULLWIDTH RIGHT CURLY BRACKET",
    "FULLWIDTH TILDE",
];

/// True for a character that shows as nothing or as a space but is not ASCII white space.
pub fn is_invisible(c: char) -> bool {
    !c.is_ascii() && INVISIBLE.binary_search_by_key(&c, |&(i, _)| i).is_ok()
}

/// Names `c` when a reader would mistake it: invisible, or a lookalike of ASCII.
pub fn describe(c: char) -> Option<Suspicious> {
    if c.is_ascii() {
        return None;
    }
    if let Ok(i) = INVISIBLE.binary_search_by_key(&c, |&(i, _)| i) {
        return Some(Suspicious {
            found: c,
            name: INVISIBLE[i].1,
            looks_like: None,
        });
    }
    if let Ok(i) = LOOKALIKES.binary_search_by_key(&c, |&(l, _, _)| l) {
        return Some(Suspicious {
            found: c,
            name: LOOKALIKES[i].1,
            looks_like: Some(LOOKALIKES[i].2),
        });
    }
    let code = u32::from(c);
    if FULLWIDTH.contains(&code) {
        return Some(Suspicious {
            found: c,
            name: FULLWIDTH_NAMES[(code - 0xff01) as usize],
            looks_like: char::from_u32(code - FULLWIDTH_OFFSET),
        });
    }
    None
}

/// The first character of `text` a reader would mistake.
pub fn suspicious(text: &str) -> Option<Suspicious> {
    text.chars().find_map(describe)
}

/// `text` as it looks: lookalikes replaced by the ASCII they imitate, invisible
/// characters removed. `None` when nothing changes.
pub fn skeleton(text: &str) -> Option<String> {
    suspicious(text)?;
    Some(
        text.chars()
            .filter_map(|c| match describe(c) {
                Some(Suspicious {
                    looks_like: Some(ascii),
                    ..
                }) => Some(ascii),
                Some(_) => None,
                None => Some(c),
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_sorted_for_binary_search() {
        assert!(INVISIBLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(LOOKALIKES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(FULLWIDTH_NAMES.len(), (0xff5e - 0xff01 + 1) as usize);
    }

    #[test]
    fn names_what_a_reader_would_miss() {
        let cases = [
            ("me\u{200b}", "U+200B ZERO WIDTH SPACE, which is invisible"),
            (
                "\u{feff}me",
                "U+FEFF ZERO WIDTH NO-BREAK SPACE (BYTE ORDER MARK), which is invisible",
            ),
            (
                "m\u{435}",
                "U+0435 CYRILLIC SMALL LETTER IE, which looks like `e`",
            ),
            (
                "\u{ff4d}e",
                "U+FF4D FULLWIDTH LATIN SMALL LETTER M, which looks like `m`",
            ),
            (
                "\u{3bf}",
                "U+03BF GREEK SMALL LETTER OMICRON, which looks like `o`",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(suspicious(text).unwrap().to_string(), expected, "{text:?}");
        }
        assert_eq!(suspicious("me/messages('Boîte de réception')"), None);
        assert_eq!(
            skeleton("m\u{435}/\u{200b}messages").as_deref(),
            Some("me/messages")
        );
        assert_eq!(skeleton("me/messages"), None);
    }

    #[test]
    fn long_values_are_cut_and_invisible_ones_shown() {
        assert_eq!(shortened("users").to_string(), "users");
        let long = format!("{}tail", "a".repeat(SHOWN));
        assert_eq!(
            shortened(&long).to_string(),
            format!("{}… (4 more characters)", "a".repeat(SHOWN))
        );
        assert_eq!(shortened("a\nb\u{202e}").to_string(), "a\\u{a}b\\u{202e}");
    }
}

/// A count as people read it: `12345` → `12,345`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod thousands_tests {
    use super::thousands;

    #[test]
    fn counts_are_grouped_by_three() {
        for (n, shown) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (1_234_567, "1,234,567"),
        ] {
            assert_eq!(thousands(n), shown);
        }
    }
}
