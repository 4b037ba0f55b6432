//! Text from outside (datasets, pasted reports) made safe where exports put
//! it: spreadsheet cells and links.
//!
//! Shared by the plugins and by chronicle itself (the ACLED importer undoes
//! [`guard_formula`]; appending checks citations with [`citation_scheme`]),
//! so that the rule is written once.

use std::borrow::Cow;

/// What a spreadsheet cell may begin with to be read as a formula (OWASP,
/// "CSV injection"): `=`, `+`, `-`, `@`, a tab, a carriage return.
pub const FORMULA_TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The guard put before a text cell a spreadsheet would run as a formula.
pub const FORMULA_GUARD: char = '\'';

/// Whether a text cell needs [`FORMULA_GUARD`]: it begins with a
/// [`FORMULA_TRIGGERS`] character, or with guards followed by one (so that
/// [`unguard_formula`] undoes exactly what [`guard_formula`] did).
fn needs_guard(cell: &str) -> bool {
    cell.trim_start_matches(FORMULA_GUARD)
        .starts_with(FORMULA_TRIGGERS)
}

/// A text cell with `'` before it when a spreadsheet would read it as a
/// formula (`=HYPERLINK(…)`, `+cmd|calc`, `-2+3`, `@SUM(…)`): spreadsheets
/// show such a cell as text. Apply it to text cells only: a number stays a
/// number.
///
/// ```
/// use chronicle_plugin_sdk::safe::guard_formula;
/// assert_eq!(guard_formula("=1+1"), "'=1+1");
/// assert_eq!(guard_formula("AFP"), "AFP");
/// ```
pub fn guard_formula(cell: &str) -> Cow<'_, str> {
    if needs_guard(cell) {
        Cow::Owned(format!("{FORMULA_GUARD}{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Undoes [`guard_formula`], and only it: the first `'` of a cell that is
/// `'`s followed by a formula trigger goes; every other cell is returned as
/// it is. `unguard_formula(&guard_formula(s)) == s` for every `s`.
///
/// ```
/// use chronicle_plugin_sdk::safe::unguard_formula;
/// assert_eq!(unguard_formula("'=1+1"), "=1+1");
/// assert_eq!(unguard_formula("'quoted'"), "'quoted'");
/// ```
pub fn unguard_formula(cell: &str) -> &str {
    match cell.strip_prefix(FORMULA_GUARD) {
        Some(rest) if needs_guard(rest) => rest,
        _ => cell,
    }
}

/// The schemes a citation may link with.
pub const LINK_SCHEMES: [&str; 3] = ["http", "https", "doi"];

/// The URI scheme a value begins with (RFC 3986: a letter, then letters,
/// digits, `+`, `-`, `.`, then `:`), lowercased, when something other than
/// a blank follows the colon; `None` for text such as `Reuters 20 April`
/// or `AFP: 17 killed`. Browsers ignore leading blanks and control
/// characters and tabs and newlines anywhere in a URL, so this does too.
pub fn citation_scheme(value: &str) -> Option<String> {
    let mut chars = value
        .trim_start_matches(|c: char| c.is_ascii_control() || c == ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'));
    // Only the characters up to the colon are read: a citation is checked on every append.
    let mut scheme = String::new();
    loop {
        match chars.next()? {
            ':' => break,
            c if c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.') => scheme.push(c),
            _ => return None,
        }
    }
    let valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic());
    let followed = chars.next().is_some_and(|c| !c.is_whitespace());
    (valid && followed).then(|| scheme.to_ascii_lowercase())
}

/// Why a citation cannot be appended, or `None` when it can: a link with
/// one of the [`LINK_SCHEMES`] (`http://…`, `https://…`, `doi:10.…`), or
/// text that does not begin like a link (`Reuters 20 April 1996`, as the
/// datasets cite). `javascript:`, `data:`, `file:` and every other scheme
/// are refused.
pub fn citation_problem(citation: &str) -> Option<String> {
    let accepted = "a citation is an http://, https:// or doi: link (accepted schemes: http, https, doi), or text that does not begin with a scheme";
    let scheme = citation_scheme(citation)?;
    if !LINK_SCHEMES.contains(&scheme.as_str()) {
        return Some(format!("the scheme {scheme}: is refused; {accepted}"));
    }
    let well_formed = citation_link(citation).is_some();
    (!well_formed).then(|| {
        format!("is not a well-formed {scheme} link (no blanks, and `//` and a host after http: or https:); {accepted}")
    })
}

/// The URL an exporter may make a link to for `citation`: an `http://` or
/// `https://` URL as it is, a `doi:` as `https://doi.org/…`; `None` for
/// anything else, whatever a log holds (text is shown as text). The URL is
/// not escaped: escape it for the output format.
///
/// ```
/// use chronicle_plugin_sdk::safe::citation_link;
/// assert_eq!(citation_link("https://afp.com/x").as_deref(), Some("https://afp.com/x"));
/// assert_eq!(citation_link("doi:10.1000/182").as_deref(), Some("https://doi.org/10.1000/182"));
/// assert_eq!(citation_link("javascript:alert(1)"), None);
/// assert_eq!(citation_link("Reuters 20 April 1996"), None);
/// ```
pub fn citation_link(citation: &str) -> Option<Cow<'_, str>> {
    if citation
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let lower = citation.get(..8).unwrap_or(citation).to_ascii_lowercase();
    for prefix in ["http://", "https://"] {
        if lower.starts_with(prefix) && citation.len() > prefix.len() {
            let host = &citation[prefix.len()..];
            return (!host.starts_with(['/', '?', '#'])).then_some(Cow::Borrowed(citation));
        }
    }
    if lower.starts_with("doi:") && citation.len() > 4 {
        let name = &citation[4..];
        return Some(Cow::Owned(format!("https://doi.org/{name}")));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The scheme as RFC 3986 and the browsers read it, written plainly: the whole value
    /// cleaned, split at the first colon.
    fn scheme_by_definition(value: &str) -> Option<String> {
        let cleaned: String = value
            .trim_start_matches(|c: char| c.is_ascii_control() || c == ' ')
            .chars()
            .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
            .collect();
        let (scheme, rest) = cleaned.split_once(':')?;
        let mut chars = scheme.chars();
        let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        let followed = rest.chars().next().is_some_and(|c| !c.is_whitespace());
        (valid && followed).then(|| scheme.to_ascii_lowercase())
    }

    proptest! {
        #[test]
        fn the_scheme_is_read_as_defined(value in "[ \\t\\n\\x01a-zA-Z0-9+.:/ -]{0,12}") {
            prop_assert_eq!(citation_scheme(&value), scheme_by_definition(&value));
        }
    }

    #[test]
    fn every_trigger_is_guarded_and_unguarded() {
        for t in FORMULA_TRIGGERS {
            let cell = format!("{t}cmd|calc");
            assert_eq!(guard_formula(&cell), format!("'{cell}"));
            assert_eq!(unguard_formula(&guard_formula(&cell)), cell);
        }
        assert_eq!(guard_formula("12"), "12");
        assert_eq!(guard_formula(""), "");
        assert_eq!(guard_formula("a=b"), "a=b");
    }

    #[test]
    fn unguard_undoes_guard_and_nothing_else() {
        let cells = [
            "", "'", "''", "=", "'=", "''=x", "'''+x", "'x", "x'", "-3", "'-3", "'\t", "@", "a",
            "é=", "'é",
        ];
        for c in cells {
            assert_eq!(unguard_formula(&guard_formula(c)), c, "{c:?}");
        }
        // Cells chronicle did not guard are left as they are.
        for c in ["'x", "'", "''", "x'=", "Reuters"] {
            assert_eq!(unguard_formula(c), c, "{c:?}");
        }
        assert_eq!(guard_formula("'=x"), "''=x");
    }

    #[test]
    fn citation_schemes() {
        for ok in [
            "https://www.afp.com/",
            "HTTP://EXAMPLE.ORG/a?b=c#d",
            "doi:10.1000/182",
            "Reuters 20 April 1996 \"Seven said killed\"",
            "Pajhwok, Kabul; TOLO News",
            "AFP: 17 killed",
            "",
        ] {
            assert_eq!(citation_problem(ok), None, "{ok:?}");
        }
        for bad in [
            "javascript:alert(3)",
            "JavaScript:alert(3)",
            "  javascript:alert(3)",
            "java\tscript:alert(3)",
            "data:text/html,<script>alert(1)</script>",
            "file:///etc/passwd",
            "vbscript:msgbox",
            "https://",
            "http:/x",
            "https://a b",
        ] {
            let problem = citation_problem(bad);
            assert!(
                problem
                    .as_deref()
                    .is_some_and(|p| p.contains("http, https, doi")),
                "{bad:?}: {problem:?}"
            );
        }
    }

    #[test]
    fn links_only_for_the_accepted_schemes() {
        assert_eq!(
            citation_link("https://a.org/x").as_deref(),
            Some("https://a.org/x")
        );
        for no in [
            "javascript:alert(1)",
            "https://a.org/x y",
            "https://",
            "https:///x",
            "data:text/html,x",
            "Reuters",
            " https://a.org",
            "http://a\u{7}",
        ] {
            assert_eq!(citation_link(no), None, "{no:?}");
        }
    }
}
