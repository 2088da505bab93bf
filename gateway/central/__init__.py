"""The central view (``twin: remote:``): the twins edge gateways replicate into a shared store, served as one.

reader.py rebuilds assets, points and locations from each gateway's graphs, follower.py keeps them and their live
values current, writer.py routes writes to the owning gateway's HTTP API, service.py wires it into the runtime
(docs/scale-out.md).
"""
