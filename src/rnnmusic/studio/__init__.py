"""The web studio (`rnnmusic serve`): browse trained models, generate and listen, watch a run train.

    catalog   run directories under the roots, and a cheap summary of each
    params    request parameters, checked and bounded
    jobs      generation and rendering in worker processes behind a bounded queue
    pages     the server-rendered HTML (static/ holds the one script and style sheet)
    server    the HTTP server and its routes
"""
