"""The page's theme: Gradio's Soft theme with the colours that failed WCAG AA contrast made darker.

axe-core (tests/test_browser.py) found these on the Soft theme, in light mode: the label chips'
indigo-500 text on indigo-100 (3.62:1), the help text's and the footer's gray-400 (2.53:1 on white,
2.42:1 on gray-50), white on the indigo-500 Translate button (4.46:1), and the indigo-500 of the
selected tab and the accordion labels on gray-50 (4.27:1), and white on the selected radio choice's
indigo-500 (the sentence picker, 4.46:1). Normal-size text needs 4.5:1. Each
replacement below is the nearest step of the same palette that passes, with its ratio.
"""

from __future__ import annotations

import gradio as gr


def theme() -> gr.themes.Base:
    """Gradio's Soft theme with AA-contrast text colours (light and dark mode)."""
    return gr.themes.Soft().set(
        block_label_text_color="*primary_700",  # 6.41:1 on the primary-100 chip
        block_title_text_color="*primary_700",
        block_info_text_color="*neutral_600",  # 7.56:1 on white (was neutral-400, 2.53:1)
        block_info_text_color_dark="*neutral_400",
        body_text_color_subdued="*neutral_600",  # the footer: 7.23:1 on neutral-50 (was 2.42:1)
        body_text_color_subdued_dark="*neutral_400",
        color_accent="*primary_600",  # the selected tab and accordion labels: 6.02:1 on neutral-50
        color_accent_soft="*primary_100",
        button_primary_background_fill="*primary_600",  # white text 6.29:1 (was primary-500, 4.46:1)
        button_primary_background_fill_hover="*primary_700",  # 7.90:1
        button_primary_background_fill_dark="*primary_600",
        button_primary_background_fill_hover_dark="*primary_700",
        checkbox_label_background_fill_selected="*primary_600",  # a chosen radio's white label: 6.29:1
        checkbox_label_background_fill_selected_dark="*primary_600",
    )
