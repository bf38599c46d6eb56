() => {
    // Accessibility fixes Gradio 6.31 has no option for (see space/gradio_fixes.py): names for the
    // French box and the copy buttons (both announced as "Copy"), and a polite live region that
    // announces each new result. A MutationObserver re-applies them because Gradio renders the
    // copy buttons lazily.
    const fix = () => {
        const french = document.querySelector("#french textarea, #french input");
        if (french) french.setAttribute("aria-label", "French translation");
        document.querySelectorAll("#french button").forEach(b => { if (/copy/i.test(b.getAttribute("aria-label") || b.title || "")) b.setAttribute("aria-label", "Copy the French translation"); });
        document.querySelectorAll("#share-link button").forEach(b => { if (/copy/i.test(b.getAttribute("aria-label") || b.title || "")) b.setAttribute("aria-label", "Copy the share link"); });
        const live = document.querySelector("#summary");
        if (live && !live.hasAttribute("aria-live")) { live.setAttribute("role", "status"); live.setAttribute("aria-live", "polite"); }
    };
    fix();
    new MutationObserver(fix).observe(document.body, {childList: true, subtree: true});
}
