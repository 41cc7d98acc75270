-- wrk script for bench/xapi_documents.py: every connection alternates a PUT and a GET of one learner's
-- xAPI State document ("resume"), learners taken in turn. The requests are formatted once in init(), so
-- the client spends its CPU on sending and reading, not on building requests.
-- wrk -s bench/xapi_state.lua URL -- <authorization header value> <learners> <activity iri>
local requests = {}
local n = 0
local count = 0

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  local auth, learners, activity = args[1], tonumber(args[2]), args[3]
  local headers = {["Authorization"] = auth, ["X-Experience-API-Version"] = "1.0.3",
                   ["Content-Type"] = "application/json"}
  for i = 0, learners - 1 do
    local agent = string.format(
      '{"objectType":"Agent","account":{"homePage":"https://lms.example.edu","name":"l%05d"}}', i)
    local path = "/xapi/activities/state?activityId=" .. encode(activity) .. "&agent=" .. encode(agent)
      .. "&stateId=resume"
    local body = string.format('{"location":"slide-%d","progress":%.2f,"learner":%d,"suspend_data":"%s"}',
      i % 40, (i % 100) / 100, i, string.rep("x", 200))
    requests[#requests + 1] = wrk.format("PUT", path, headers, body)
    requests[#requests + 1] = wrk.format("GET", path, headers)
  end
  count = #requests
  n = math.random(count) - 1
  if n % 2 == 1 then n = n - 1 end
end

function request()
  n = n % count + 1
  return requests[n]
end

function done(summary, latency, requests)
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"status_errors": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    summary.errors.status, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout))
end
