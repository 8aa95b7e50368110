-- wrk: POST one MNIST test digit (a 4, as KServe v2 JSON) to the v2 infer endpoint.
-- The body file is read relative to the directory wrk runs in (run.sh runs it in benches/serve).
local f = assert(io.open("digit.json", "r"))
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()
