(...values) => {
    // The copy-link button: a link to this sentence, model and settings. SETTINGS (filled in by
    // space/deep_link.py) holds the link's parameter names, in the order of `values`, and each
    // one's default; a value equal to its default is left out, so a link stays short.
    const {names, defaults} = SETTINGS;
    const url = new URL(window.location.href);
    url.search = "";
    names.forEach((name, i) => {
        const value = values[i];
        if (value === null || value === undefined || value === "" || String(value) === String(defaults[name])) return;
        url.searchParams.set(name, String(value));
    });
    const link = url.toString();
    let status = "Select the link and copy it (this browser does not let the page use the clipboard).";
    if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(link).catch(() => {});
        status = "✓ Link copied to the clipboard. Anyone who opens it sees this sentence, model and settings.";
    }
    return [link, status];
}
