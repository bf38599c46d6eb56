() => {
    // Accessibility fixes Gradio 6.31 has no option for (see space/gradio_fixes.py): names for the
    // French box and the copy buttons (both announced as "Copy"), polite live regions that
    // announce each new result and score, and no alt text repeating a footer button's words. A
    // MutationObserver re-applies them because Gradio renders the copy buttons lazily.
    const fix = () => {
        const french = document.querySelector("#french textarea, #french input");
        if (french) french.setAttribute("aria-label", "French translation");
        document.querySelectorAll("#french button").forEach(b => { if (/copy/i.test(b.getAttribute("aria-label") || b.title || "")) b.setAttribute("aria-label", "Copy the French translation"); });
        document.querySelectorAll("#share-link button").forEach(b => { if (/copy/i.test(b.getAttribute("aria-label") || b.title || "")) b.setAttribute("aria-label", "Copy the share link"); });
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
}
