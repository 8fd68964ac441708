-- wrk script: POST /api/v1/tickets with the kiosk's Bearer token, services round-robin.
--   KIOSK_TOKEN=hq_... wrk -t2 -c8 -d10s --latency -s bench/tickets.lua http://127.0.0.1:PORT
-- Counts response statuses per thread and prints them in done(), with the first few
-- non-201 bodies, so the caller can compare 201s with the tickets in the database.
-- Optional: SERVICES="HT,CT" to choose the services.

local token = os.getenv("KIOSK_TOKEN") or ""
local services = {}
for code in string.gmatch(os.getenv("SERVICES") or "HT,CT,DD,TP,XH", "[^,]+") do
  table.insert(services, code)
end

local threads = {}
local counter = 0

function setup(thread)
  -- Each thread starts at a different service so the spread stays even.
  thread:set("offset", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  bad_bodies = {}
  sent = 0
  headers = {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }
  bodies = {}
  for i, code in ipairs(services) do
    bodies[i] = '{"service":"' .. code .. '"}'
  end
end

function request()
  local index = ((sent + offset) % #bodies) + 1
  sent = sent + 1
  return wrk.format("POST", "/api/v1/tickets", headers, bodies[index])
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status ~= 201 and #bad_bodies < 5 then
    table.insert(bad_bodies, key .. " " .. string.sub(body or "", 1, 200))
  end
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for key, count in pairs(counts) do
      total[key] = (total[key] or 0) + count
    end
    local bodies_seen = thread:get("bad_bodies")
    for _, line in ipairs(bodies_seen) do
      io.write("NON201 ", line, "\n")
    end
  end
  for key, count in pairs(total) do
    io.write("STATUS ", key, " ", count, "\n")
  end
  io.write(string.format("LATENCY_US p50=%d p90=%d p99=%d max=%d mean=%.0f\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
  io.write(string.format("SUMMARY requests=%d duration_us=%d errors_connect=%d errors_read=%d "
    .. "errors_write=%d errors_status=%d errors_timeout=%d\n",
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
