"""The leaf every package imports: settings and the typed contracts between processes. It imports none of them."""
