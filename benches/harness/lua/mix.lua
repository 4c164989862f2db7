-- P9: the guest-operation mix. Run with one connection per thread (-t N -c N), so that each
-- thread's requests and answers alternate and it can time each one and chain them: list,
-- get, createTemporary, transfer create (an upload of 1000 bytes into the temporary file), its
-- redemption by PUT on /guestFile, and delete of the temporary file. A directory in which a
-- transfer is in flight is busy, so thread N makes its files in its own /work/cNN. Arguments: `-- VM SESSION CREDENTIALS_JSON`.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
  int clock_gettime(int clock, bench_timespec *out);
]]
local ts = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

local order = { "files.list", "files.get", "files.createTemporary", "transfers.create",
                "guestFile.put", "files.delete" }
-- Per operation (by its index in `order`): latencies in microseconds in the globals lat1..lat6,
-- and answers that were not 2xx in bad. Flat tables: wrk's thread:get() cannot copy nested ones.
bad, first_error = {}, {}
for i = 1, #order do
  _G["lat" .. i] = {}
  bad[i] = 0
end

local step, started = 1, 0
local tmp, url = nil, nil
local fixed, base, headers, creds = {}, "", {}, ""
local payload = string.rep("x", 1000)

local function encode(path)
  return (path:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  base = "/api/vcenter/vm/" .. args[1] .. "/guest/filesystem"
  headers = { ["Content-Type"] = "application/json", ["vmware-api-session-id"] = args[2] }
  creds = args[3]
  fixed["files.list"] = wrk.format("POST", base .. "/files?action=list", headers,
    '{"credentials":' .. creds .. ',"path":"/bench"}')
  fixed["files.get"] = wrk.format("POST", base .. "/files/" .. encode("/bench/file-00.dat") ..
    "?action=get", headers, '{"credentials":' .. creds .. '}')
  fixed["files.createTemporary"] = wrk.format("POST", base .. "/files?action=createTemporary",
    headers, '{"credentials":' .. creds .. ',"prefix":"mix","suffix":".tmp","parent_path":"' ..
    string.format("/work/c%02d", thread_index) .. '"}')
end

function request()
  local op = order[step]
  local req = fixed[op]
  if op == "transfers.create" then
    req = wrk.format("POST", base .. "?action=create", headers, '{"credentials":' .. creds ..
      ',"spec":{"path":"' .. tmp .. '","attributes":{"overwrite":true,"size":1000}}}')
  elseif op == "guestFile.put" then
    req = wrk.format("PUT", url, {}, payload)
  elseif op == "files.delete" then
    req = wrk.format("POST", base .. "/files/" .. encode(tmp) .. "?action=delete", headers,
      '{"credentials":' .. creds .. '}')
  end
  started = now_us()
  return req
end

function response(status, _, body)
  local op = order[step]
  local l = _G["lat" .. step]
  l[#l + 1] = now_us() - started
  if status < 200 or status > 299 then
    bad[step] = bad[step] + 1
    if not first_error[step] then
      first_error[step] = status .. " " .. (body or ""):sub(1, 300)
    end
  end
  if op == "files.createTemporary" then
    tmp = status >= 200 and status < 300 and body:match('^"(.*)"$') or nil
  elseif op == "transfers.create" then
    url = status >= 200 and status < 300 and body:match('^"https?://[^/]+(/.*)"$') or nil
  end
  step = step % #order + 1
  -- The transfer and the delete need the temporary file, the upload its URL: start over
  -- when what they need failed.
  if order[step] == "transfers.create" and not tmp then step = 1 end
  if order[step] == "guestFile.put" and not url then step = 6 end
end

local function percentile(sorted, p)
  if #sorted == 0 then return 0 end
  local i = math.max(1, math.ceil(#sorted * p / 100))
  return sorted[i]
end

function extra_json(threads, summary)
  local parts = {}
  for i, op in ipairs(order) do
    local all, errors, example = {}, 0, ""
    for _, t in ipairs(threads) do
      for _, v in ipairs(t:get("lat" .. i)) do all[#all + 1] = v end
      errors = errors + t:get("bad")[i]
      example = t:get("first_error")[i] or example
    end
    table.sort(all)
    parts[#parts + 1] = string.format(
      '"%s":{"count":%d,"errors":%d,"p50_us":%.0f,"p99_us":%.0f,"max_us":%.0f,"an_error":"%s"}',
      op, #all, errors, percentile(all, 50), percentile(all, 99), percentile(all, 100),
      example:gsub('[%c"\\]', " "))
  end
  return '"ops":{' .. table.concat(parts, ",") .. '}'
end
