//! A diagnostic as the source line with a caret (annotate-snippets).

use crate::spec::Diagnostic;
use annotate_snippets::{Level, Renderer, Snippet};

/// Renders a diagnostic: `error: message`, `--> file:line:col`, the line, a caret, notes.
pub fn render_diagnostic(d: &Diagnostic, color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let origin = d.file.display().to_string();
    let notes: Vec<String> = d.notes.clone();
    match d.line_text() {
        Some(line) if d.source.is_some() => {
            // Span within the line, by bytes; at least one character, clamped.
            let start = line
                .char_indices()
                .nth(d.column.saturating_sub(1))
                .map_or(line.len(), |(i, _)| i);
            let end = (start + d.len.max(1)).min(line.len().max(start + 1));
            let src = format!("{line}\n");
            let end = end.min(src.len());
            let mut msg = Level::Error.title(&d.message).snippet(
                Snippet::source(&src)
                    .line_start(d.line)
                    .origin(&origin)
                    .annotation(Level::Error.span(start..end.max(start)).label(&d.label)),
            );
            for n in &notes {
                msg = msg.footer(Level::Note.title(n));
            }
            let out = renderer.render(msg).to_string();
            // annotate-snippets shows `file:line:col` from the span; make the column ours.
            out.replacen(
                &format!("{origin}:{}:{}", d.line, start + 1),
                &format!("{origin}:{}:{}", d.line, d.column),
                1,
            )
        }
        _ => {
            let mut s = format!("error: {}\n  --> {}", d.message, origin);
            if d.source.is_some() {
                s.push_str(&format!(":{}:{}", d.line, d.column));
            }
            for n in &notes {
                s.push_str(&format!("\n  = note: {n}"));
            }
            s
        }
    }
}
