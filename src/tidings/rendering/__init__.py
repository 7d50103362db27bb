"""Customer-authored templates: the sandboxed Liquid renderer and the variables a message sees. Used by the
send actions (rendering at queue time) and by delivery (rendering at send time)."""
