-- wrk script: every request asks for a random existing code from the file given after "--".
-- Second argument: "uniform" (every code equally likely: the cache rarely helps, the worst
-- case) or "hot" (log-uniform ranks: a few codes take most clicks, as viral links do; the
-- top 100 of 100,000 codes get about 40% of requests, the top 10,000 about 80%).
-- A phone's User-Agent, so the click path parses a real agent (cached after the first).
local codes = {}
local count = 0
local hot = false

function init(args)
  for line in io.lines(args[1]) do
    count = count + 1
    codes[count] = line
  end
  hot = args[2] == "hot"
  math.randomseed(os.time() + math.floor(os.clock() * 1000000) + count)
  wrk.headers["User-Agent"] = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
    .. "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
end

function request()
  local i
  if hot then
    i = math.floor(count ^ math.random())  -- 1..count, rank r with probability ~ 1/r
  else
    i = math.random(count)
  end
  return wrk.format("GET", "/" .. codes[i])
end
