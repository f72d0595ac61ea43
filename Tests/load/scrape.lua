-- wrk script: every response must be a 200 whose body is a whole /metrics/resource exposition.
-- wrk runs response() in each thread's own Lua state; done() gathers the per-thread counts.
-- Prints one machine-readable line: "kubemeter-load responses=N bad=N incomplete=N".

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses = 0
  bad = 0
  incomplete = 0
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    bad = bad + 1
    return
  end
  local length = tonumber(headers["Content-Length"])
  -- A complete exposition: the advertised length, the first family's HELP, and the last family's sample.
  if length == nil or length ~= #body
     or body:sub(1, 7) ~= "# HELP "
     or not body:find("\nresource_scrape_error 0\n$") then
    incomplete = incomplete + 1
  end
end

function done(summary, latency, requests)
  local r, b, i = 0, 0, 0
  for _, t in ipairs(threads) do
    r = r + t:get("responses")
    b = b + t:get("bad")
    i = i + t:get("incomplete")
  end
  io.write(string.format("kubemeter-load responses=%d bad=%d incomplete=%d\n", r, b, i))
end
