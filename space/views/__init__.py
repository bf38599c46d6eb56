"""What the page shows, as Markdown and escaped HTML strings; no gradio import, so tests read them directly.
Words that name a language come from the page's Wording (space/wording.py), which the views take.

    models.py     model names, the intro, the Model panel, notices about models that failed to load
    results.py    the summary under a translation, error summaries, the n-best list, batch summaries
    steps.py      the per-step strip: each written character's probability and alternatives
    alignment.py  the attention heatmap
    score.py      Score your French: the visitor's translation scored, beside the model's own
    compare.py    the Compare table
    marks.py      visible marks for invisible characters, shared by every view
    colours.py    colour scales and the text colour that reads on each background
"""
