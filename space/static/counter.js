(text, trained) => {
    // The live counter under the English box, in the browser (no request per keystroke): it counts
    // against both limits, the hard cap (CAP, filled in by space/layout.py) and the longest input
    // the chosen model was trained on.
    const n = [...(text || "")].length;
    const cap = CAP;
    let note = "";
    if (n > cap) note = ` — over the ${cap}-character limit: shorten it to translate`;
    else if (trained && n > trained) note = ` — longer than the ${trained} characters this model was trained on: expect a poor translation`;
    const cls = n > cap ? "counter over" : (trained && n > trained ? "counter long" : "counter");
    return `<span class="${cls}">${n} / ${cap} characters${trained ? ` · model trained on ≤ ${trained}` : ""}${note}</span>`;
}
