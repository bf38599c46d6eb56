() => {
    // Accessibility fixes Gradio 6.31 has no option for (see space/gradio_fixes.py): names for the
    // result box and the copy buttons (both announced as "Copy"), polite live regions that
    // announce each new result and score, and no alt text repeating a footer button's words. A
    // MutationObserver re-applies them because Gradio renders the copy buttons lazily.
    // The result box's names are in the page's language pair: the page carries them (space/layout.py,
    // `_script_words`), this script is the same for every pair.
    const named = (selector, name) => {
        if (name) document.querySelectorAll(selector).forEach(b => { if (/copy/i.test(b.getAttribute("aria-label") || b.title || "")) b.setAttribute("aria-label", name); });
    };
    const fix = () => {
        const names = document.querySelector("#page-words [data-translation-label]");
        const result = document.querySelector("#french textarea, #french input");
        if (result && names) result.setAttribute("aria-label", names.dataset.translationLabel);
        named("#french button", names && names.dataset.copyLabel);
        named("#share-link button", "Copy the share link");
        document.querySelectorAll("#summary, #score-summary").forEach(live => {
            if (!live.hasAttribute("aria-live")) { live.setAttribute("role", "status"); live.setAttribute("aria-live", "polite"); }
        });
        // The footer's icons repeat their button's words ("Settings" twice for a screen reader).
        document.querySelectorAll("footer img[alt]").forEach(img => {
            const words = (img.parentElement && img.parentElement.textContent || "").trim();
            if (img.alt && words.includes(img.alt)) img.alt = "";
        });
    };
    fix();
    new MutationObserver(fix).observe(document.body, {childList: true, subtree: true});

    // The multi-line boxes: Enter sends (it presses the box's button), Shift+Enter starts a new line.
    // Gradio 6.31's multi-line Textbox does the opposite, from a handler on the textarea itself; this
    // listener runs first (capture phase, on the document) and keeps the key from reaching it.
    const buttons = {"english": "translate-btn", "compare-english": "compare-btn", "score-french": "score-btn"};
    const keys = e => {
        if (e.key !== "Enter" || e.isComposing || e.ctrlKey || e.altKey || e.metaKey) return;
        const box = e.target.closest && e.target.closest("#english, #compare-english, #score-french");
        if (!box || e.target.tagName !== "TEXTAREA") return;
        e.stopPropagation();  // Gradio's own handler never sees it
        if (e.shiftKey) return;  // the browser inserts the line break
        e.preventDefault();
        if (e.type === "keydown") {
            const button = document.querySelector(`#${buttons[box.id]}`);
            if (button) button.click();
        }
    };
    for (const type of ["keydown", "keypress"]) document.addEventListener(type, keys, true);
}
