-- wrk script: sends the requests listed in the file named by BENCH_REQUESTS, in turn, and
-- prints wrk's measurements on one line for bench/run.py.
--
-- The file holds one or more requests, each written as
--
--   METHOD /path
--   Header-Name: value
--   ...
--   <empty line>
--   body on one line (empty for none)
--
-- With several requests, thread i of n sends requests i, i + n, i + 2n, ... so that threads
-- never share a request (for requests that may succeed only once), and starts over at its
-- first one when it reaches the end.

local next_thread_index = 0

function setup(thread)
   thread:set("thread_index", next_thread_index)
   next_thread_index = next_thread_index + 1
end

local function read_requests(path)
   local requests = {}
   local lines = {}
   for line in io.lines(path) do
      lines[#lines + 1] = line
   end
   local i = 1
   while i <= #lines do
      if lines[i] ~= "" then
         local method, target = lines[i]:match("^(%u+) (%S+)$")
         assert(method, "bad request line in " .. path .. ": " .. lines[i])
         local headers = { Host = wrk.headers["Host"] }
         i = i + 1
         while lines[i] ~= "" do
            local name, value = lines[i]:match("^([^:]+): (.*)$")
            assert(name, "bad header line in " .. path .. ": " .. tostring(lines[i]))
            headers[name] = value
            i = i + 1
         end
         local body = lines[i + 1]
         if body == "" then
            body = nil
         end
         requests[#requests + 1] = wrk.format(method, target, headers, body)
         i = i + 2
      else
         i = i + 1
      end
   end
   assert(#requests > 0, "no request in " .. path)
   return requests
end

local requests
local position
local step

function init(args)
   requests = read_requests(assert(os.getenv("BENCH_REQUESTS"), "BENCH_REQUESTS is not set"))
   step = tonumber(os.getenv("BENCH_THREADS") or "1")
   position = (thread_index or 0) % #requests + 1
end

function request()
   local raw = requests[position]
   position = position + step
   if position > #requests then
      position = (thread_index or 0) % #requests + 1
   end
   return raw
end

function done(summary, latency, _)
   local errors = summary.errors
   io.write(string.format(
      "BENCH-RESULT requests=%d duration_us=%d non_2xx_3xx=%d connect=%d read=%d write=%d"
         .. " timeout=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, errors.status, errors.connect, errors.read,
      errors.write, errors.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max
   ))
end
