-- wrk script of tools/bench_detach.py: each request DELETEs the next
-- attachment of the list in $BENCH_PATHS (threads take turns), with the
-- noauth2 token, on a new connection (Connection: close).
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
   paths[#paths + 1] = line
end
local token = os.getenv("BENCH_TOKEN")
local threads = tonumber(os.getenv("BENCH_THREADS"))
local next_thread = 0

function setup(thread)
   thread:set("offset", next_thread)
   next_thread = next_thread + 1
end

local counter = nil

function request()
   if counter == nil then
      counter = offset
   end
   local path = paths[(counter % #paths) + 1]
   counter = counter + threads
   return wrk.format("DELETE", path, {["X-Auth-Token"] = token,
                                      ["Connection"] = "close"})
end
