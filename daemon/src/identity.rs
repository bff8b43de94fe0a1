//! Identity of artists, albums and tracks: canonical keys and credit splitting.
//!
//! Two spellings name the same thing when their canonical keys are equal:
//! Unicode NFKC, case-folded, diacritics folded, punctuation and white space
//! squeezed to single spaces ("Beyoncé" and "BEYONCE" share `beyonce`).
//!
//! An artist credit is split into one primary artist and featured artists on
//! `feat.`, `ft.` and `featuring`, in the credit or in the track title
//! (`Song (feat. X)`). Other separators (`&`, `,`, ` x `, `vs.`) split only when
//! configured, so "Simon & Garfunkel" stays one artist by default.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A name as first seen, with its canonical key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Name {
    /// The display form, trimmed.
    pub(crate) display: String,
    /// The canonical key.
    pub(crate) key: String,
}

impl Name {
    pub(crate) fn new(display: &str) -> Name {
        let display = display.trim();
        Name { display: display.to_owned(), key: canonical_key(display) }
    }
}

/// A credit split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Credit {
    /// The artist the listen counts for.
    pub(crate) primary: Name,
    /// Everyone else credited, in order, without duplicates.
    pub(crate) featured: Vec<Name>,
    /// The track title without a `(feat. X)` part.
    pub(crate) title: Name,
}

/// The canonical key of a name: see the module docs.
pub(crate) fn canonical_key(text: &str) -> String {
    let mut key = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut push = |key: &mut String, c: char| {
        if c.is_alphanumeric() {
            if pending_space && !key.is_empty() {
                key.push(' ');
            }
            pending_space = false;
            key.push(c);
        } else {
            pending_space = true;
        }
    };
    if text.is_ascii() {
        for c in text.chars() {
            push(&mut key, c.to_ascii_lowercase());
        }
    } else {
        // NFKD splits compatibility forms and diacritics; marks are dropped,
        // and NFC puts back what the marks do not carry (Hangul syllables).
        let folded: String = text.nfkd().filter(|c| !is_combining_mark(*c)).nfc().collect();
        for c in folded.chars() {
            match c {
                'ß' | 'ẞ' => {
                    push(&mut key, 's');
                    push(&mut key, 's');
                }
                'ς' => push(&mut key, 'σ'),
                'ø' | 'Ø' => push(&mut key, 'o'),
                'æ' | 'Æ' => {
                    push(&mut key, 'a');
                    push(&mut key, 'e');
                }
                'đ' | 'Đ' => push(&mut key, 'd'),
                'ł' | 'Ł' => push(&mut key, 'l'),
                _ => {
                    for lower in c.to_lowercase() {
                        push(&mut key, lower);
                    }
                }
            }
        }
    }
    if key.is_empty() {
        // Names made only of punctuation ("!!!") keep their punctuation.
        return text.nfkc().collect::<String>().trim().to_lowercase();
    }
    key
}

/// Splits an artist credit and a track title into primary artist, featured
/// artists and the bare title. `separators` are the configured extra separators.
pub(crate) fn split_credit(credit: &str, title: &str, separators: &[String]) -> Credit {
    let (main, featured_part) = split_featuring(credit);
    let mut names = split_on(main, separators);
    if names.is_empty() {
        names.push(credit.trim());
    }
    let primary = Name::new(names[0]);
    let mut featured: Vec<Name> = Vec::new();
    let add = |featured: &mut Vec<Name>, name: &str| {
        let name = Name::new(name);
        if !name.key.is_empty() && name.key != primary.key && !featured.contains(&name) {
            featured.push(name);
        }
    };
    for name in &names[1..] {
        add(&mut featured, name);
    }
    if let Some(part) = featured_part {
        for name in split_on(part, separators) {
            add(&mut featured, name);
        }
    }
    let (bare_title, title_featured) = split_title(title);
    if let Some(part) = title_featured {
        for name in split_on(&part, separators) {
            add(&mut featured, name);
        }
    }
    let title = if bare_title.trim().is_empty() { title } else { &bare_title };
    Credit { primary, featured, title: Name::new(title) }
}

/// A credit given as separate names (ListenBrainz `artist_names`): the first is
/// primary (split as usual, should it carry a `feat.`), the others are featured,
/// and a `(feat. X)` in the title adds to them. `names` must not be empty.
pub(crate) fn credit_of_artists(names: &[String], title: &str, separators: &[String]) -> Credit {
    let mut credit = split_credit(&names[0], title, separators);
    for name in &names[1..] {
        let name = Name::new(name);
        if !name.key.is_empty() && name.key != credit.primary.key && !credit.featured.contains(&name) {
            credit.featured.push(name);
        }
    }
    credit
}

/// Words that introduce featured artists, lowercase. `featuring`, `feat.` and
/// `ft.` do anywhere as words; bare `feat` and `ft` only right inside brackets
/// (`(feat X)`), so "Little Feat", "No Small Feat (Live)" and "Ft Worth" stay whole.
const FEATURING: [&str; 3] = ["featuring", "feat", "ft"];

/// Finds a featuring marker at a word start: returns (byte start of the marker,
/// byte index just after it and its dot).
fn find_featuring(text: &str) -> Option<(usize, usize)> {
    let lower = text.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    for (start, _) in lower.char_indices() {
        let at_word_start = start > 0 && matches!(bytes[start - 1], b' ' | b'(' | b'[' | b'-');
        if !at_word_start {
            continue;
        }
        let in_brackets = matches!(lower[..start].trim_end().as_bytes().last(), Some(b'(' | b'['));
        for word in FEATURING {
            if !lower[start..].starts_with(word) {
                continue;
            }
            let mut end = start + word.len();
            match bytes.get(end) {
                Some(b'.') => end += 1,
                Some(b' ') if word == "featuring" || in_brackets => {}
                _ => continue,
            }
            return Some((start, end));
        }
    }
    None
}

/// `"A feat. B"` → (`"A"`, `Some("B")`); a credit without a marker is returned whole.
fn split_featuring(credit: &str) -> (&str, Option<&str>) {
    match find_featuring(credit) {
        Some((start, end)) => {
            let main = credit[..start].trim_end_matches([' ', '(', '[', '-']).trim();
            let rest = credit[end..].trim().trim_end_matches([')', ']']).trim();
            if main.is_empty() || rest.is_empty() {
                return (credit, None);
            }
            (main, Some(rest))
        }
        None => (credit, None),
    }
}

/// `"Song (feat. X) [Live]"` → (`"Song [Live]"`, `Some("X")`).
fn split_title(title: &str) -> (String, Option<String>) {
    let Some((start, end)) = find_featuring(title) else {
        return (title.to_owned(), None);
    };
    let opener = title[..start].trim_end().chars().last();
    let closer = match opener {
        Some('(') => Some(')'),
        Some('[') => Some(']'),
        _ => None,
    };
    let before = title[..start].trim_end();
    let (names, after) = match closer {
        Some(closer) => {
            let before = &before[..before.len() - 1];
            match title[end..].find(closer) {
                Some(offset) => {
                    let names = &title[end..end + offset];
                    let after = &title[end + offset + 1..];
                    return finish_title(before, names, after);
                }
                None => (&title[end..], ""),
            }
        }
        None => (&title[end..], ""),
    };
    let before = before.trim_end_matches(['-', ' ']);
    finish_title(before, names, after)
}

fn finish_title(before: &str, names: &str, after: &str) -> (String, Option<String>) {
    let names = names.trim();
    if names.is_empty() || before.trim().is_empty() {
        return (format!("{before}{after}"), None);
    }
    let after = after.trim();
    let bare = if after.is_empty() { before.trim().to_owned() } else { format!("{} {after}", before.trim()) };
    (bare, Some(names.to_owned()))
}

/// Splits on the configured separators; pieces are trimmed and never empty.
fn split_on<'a>(text: &'a str, separators: &[String]) -> Vec<&'a str> {
    let mut pieces = vec![text];
    for separator in separators {
        let lower_separator = separator.to_lowercase();
        pieces = pieces.into_iter().flat_map(|piece| split_ascii_case_insensitive(piece, &lower_separator)).collect();
    }
    pieces.into_iter().map(str::trim).filter(|piece| !piece.is_empty()).collect()
}

fn split_ascii_case_insensitive<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let lower = text.to_ascii_lowercase();
    let mut pieces = Vec::new();
    let mut last = 0;
    for (index, _) in lower.match_indices(separator) {
        if index >= last {
            pieces.push(&text[last..index]);
            last = index + separator.len();
        }
    }
    pieces.push(&text[last..]);
    pieces
}

/// The artists of a credit list as one name: Discogs' ` (2)` namesake suffixes
/// dropped, joined as credited (`A & B`, `A, B`, `A Featuring B`).
pub(crate) fn artist_line(credits: &[musique_sdk::collection::Credit]) -> String {
    let mut line = String::new();
    for (index, credit) in credits.iter().enumerate() {
        line.push_str(without_suffix(&credit.name));
        if index + 1 < credits.len() {
            match credit.join.as_deref().map(str::trim) {
                None | Some("") => line.push_str(", "),
                Some(",") => line.push_str(", "),
                Some(join) => {
                    line.push(' ');
                    line.push_str(join);
                    line.push(' ');
                }
            }
        }
    }
    line
}

pub(crate) use musique_sdk::collection::without_suffix;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_keys() {
        let cases = [
            ("Beyoncé", "beyonce"),
            ("BEYONCE", "beyonce"),
            ("  Sigur   Rós ", "sigur ros"),
            ("AC/DC", "ac dc"),
            ("Guns N' Roses", "guns n roses"),
            ("Ｆｕｌｌｗｉｄｔｈ", "fullwidth"),
            ("Die Ärzte", "die arzte"),
            ("Straße", "strasse"),
            ("Mø", "mo"),
            ("宇多田ヒカル", "宇多田ヒカル"),
            ("방탄소년단", "방탄소년단"),
            ("!!!", "!!!"),
            ("Röyksopp — The Inevitable End", "royksopp the inevitable end"),
        ];
        for (input, expected) in cases {
            assert_eq!(canonical_key(input), expected, "{input}");
        }
    }

    fn check(credit: &str, title: &str, separators: &[&str], primary: &str, featured: &[&str], bare: &str) {
        let separators: Vec<String> = separators.iter().map(|s| s.to_string()).collect();
        let split = split_credit(credit, title, &separators);
        assert_eq!(split.primary.display, primary, "primary of {credit:?}");
        let names: Vec<&str> = split.featured.iter().map(|name| name.display.as_str()).collect();
        assert_eq!(names, featured, "featured of {credit:?} / {title:?}");
        assert_eq!(split.title.display, bare, "title of {title:?}");
    }

    #[test]
    fn credits() {
        check("Daft Punk", "One More Time", &[], "Daft Punk", &[], "One More Time");
        check(
            "Jay-Z feat. Alicia Keys",
            "Empire State of Mind",
            &[],
            "Jay-Z",
            &["Alicia Keys"],
            "Empire State of Mind",
        );
        check("Eminem ft. Rihanna", "Love the Way You Lie", &[], "Eminem", &["Rihanna"], "Love the Way You Lie");
        check("A Featuring B", "T", &[], "A", &["B"], "T");
        check("A (feat. B)", "T", &[], "A", &["B"], "T");
        check("John Summit", "Go Back (feat. Julia Church)", &[], "John Summit", &["Julia Church"], "Go Back");
        check("X", "Song [feat. Y] (Live)", &[], "X", &["Y"], "Song (Live)");
        check("X", "Song - feat. Y", &[], "X", &["Y"], "Song");
        check("Simon & Garfunkel", "The Boxer", &[], "Simon & Garfunkel", &[], "The Boxer");
        check("Simon & Garfunkel", "The Boxer", &["&"], "Simon", &["Garfunkel"], "The Boxer");
        check("A, B & C", "T", &[",", "&"], "A", &["B", "C"], "T");
        check("Skrillex x Diplo", "T", &[" x "], "Skrillex", &["Diplo"], "T");
        check("A feat. B & C", "T", &[], "A", &["B & C"], "T");
        check("A feat. B", "T (feat. B)", &[], "A", &["B"], "T");
        // Words that merely contain the markers are left alone.
        check("Little Feat", "Dixie Chicken", &[], "Little Feat", &[], "Dixie Chicken");
        check("Daft Punk", "Aerodynamic", &[], "Daft Punk", &[], "Aerodynamic");
        check("Soft Cell", "Tainted Love", &[], "Soft Cell", &[], "Tainted Love");
        check("feat. Nobody", "T", &[], "feat. Nobody", &[], "T");
    }

    /// Issue 11, item 3: names that must stay whole with the default (empty) separators,
    /// and real credits that must split.
    #[test]
    fn band_names_stay_whole_and_credits_split() {
        // (credit, title, primary, featured, bare title)
        let cases: [(&str, &str, &str, &[&str], &str); 17] = [
            ("Little Feat", "Dixie Chicken", "Little Feat", &[], "Dixie Chicken"),
            ("Little Feat & Friends", "Willin'", "Little Feat & Friends", &[], "Willin'"),
            ("Little Feat", "No Small Feat (Live)", "Little Feat", &[], "No Small Feat (Live)"),
            ("Jimmie Vaughan", "Welcome to Ft Worth", "Jimmie Vaughan", &[], "Welcome to Ft Worth"),
            ("Earth, Wind & Fire", "September", "Earth, Wind & Fire", &[], "September"),
            ("Crosby, Stills, Nash & Young", "Helpless", "Crosby, Stills, Nash & Young", &[], "Helpless"),
            ("Tyler, the Creator", "EARFQUAKE", "Tyler, the Creator", &[], "EARFQUAKE"),
            ("Florence + the Machine", "Dog Days Are Over", "Florence + the Machine", &[], "Dog Days Are Over"),
            ("AC/DC", "Back in Black", "AC/DC", &[], "Back in Black"),
            ("Simon & Garfunkel", "The Boxer", "Simon & Garfunkel", &[], "The Boxer"),
            (
                "Calvin Harris feat. Rihanna",
                "This Is What You Came For",
                "Calvin Harris",
                &["Rihanna"],
                "This Is What You Came For",
            ),
            ("Drake ft. Rihanna", "Take Care", "Drake", &["Rihanna"], "Take Care"),
            ("DJ Khaled featuring Drake", "For Free", "DJ Khaled", &["Drake"], "For Free"),
            ("Mark Ronson", "Uptown Funk (feat Bruno Mars)", "Mark Ronson", &["Bruno Mars"], "Uptown Funk"),
            ("Major Lazer", "Lean On [ft MØ & DJ Snake]", "Major Lazer", &["MØ & DJ Snake"], "Lean On"),
            ("Gorillaz (ft Del)", "Clint Eastwood", "Gorillaz", &["Del"], "Clint Eastwood"),
            ("Santana Featuring Rob Thomas", "Smooth", "Santana", &["Rob Thomas"], "Smooth"),
        ];
        for (credit, title, primary, featured, bare) in cases {
            check(credit, title, &[], primary, featured, bare);
        }
    }

    #[test]
    fn credit_of_separate_artists() {
        let names = vec!["Daft Punk".to_owned(), "Pharrell Williams".to_owned(), "daft punk".to_owned()];
        let credit = credit_of_artists(&names, "Get Lucky (feat. Nile Rodgers)", &[]);
        assert_eq!(credit.primary.display, "Daft Punk");
        let featured: Vec<&str> = credit.featured.iter().map(|name| name.display.as_str()).collect();
        assert_eq!(featured, ["Nile Rodgers", "Pharrell Williams"]);
        assert_eq!(credit.title.display, "Get Lucky");
    }

    #[test]
    fn same_track_two_spellings_share_keys() {
        let one = split_credit("Beyoncé feat. Jay-Z", "Crazy in Love", &[]);
        let two = split_credit("BEYONCE", "Crazy In Love (feat. JAY Z)", &[]);
        assert_eq!(one.primary.key, two.primary.key);
        assert_eq!(one.title.key, two.title.key);
    }
}
