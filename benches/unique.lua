-- wrk script: a different token on every request, from a file of one token a line.
-- Arguments (after `--`): the file, the index to start at, wrk's thread count.
-- Each wrk thread takes every n-th line, so no two threads send the same token.
local count = 0

function setup(thread)
  thread:set("id", count)
  count = count + 1
end

local requests = {}
local next_request = 1

function init(args)
  local threads = tonumber(args[3])
  local n = 0
  for line in io.lines(args[1]) do
    if n % threads == id then
      requests[#requests + 1] = wrk.format(nil, nil, { ["Authorization"] = "Bearer " .. line })
    end
    n = n + 1
  end
  next_request = (tonumber(args[2]) % #requests) + 1
end

function request()
  local r = requests[next_request]
  next_request = next_request + 1
  if next_request > #requests then next_request = 1 end
  return r
end
