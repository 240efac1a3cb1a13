//! Small text helpers for messages built from untrusted input.

/// Cuts `text` to at most `max_chars` characters, on a character boundary, marking the cut with
/// an ellipsis. Used wherever an event value is echoed into a reason, a log line or a subject.
pub fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some(_) => {
            let keep = max_chars.saturating_sub(1);
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            format!("{}…", &text[..end])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn short_text_is_unchanged() {
        assert_eq!(clip("i-0abc", 10), "i-0abc");
        assert_eq!(clip("", 3), "");
    }

    #[test]
    fn long_text_is_cut_on_a_char_boundary_with_an_ellipsis() {
        let clipped = clip("ééééé", 3);
        assert_eq!(clipped, "éé…");
        assert_eq!(clipped.chars().count(), 3);
    }

    #[test]
    fn text_of_exactly_max_chars_is_unchanged() {
        assert_eq!(clip("abc", 3), "abc");
    }
}
