-- wrk script: benign Exchange client requests, sent in turn on every connection.
-- Shapes: OWA page and OWA service call, EWS SOAP, MAPI/HTTP, ActiveSync, Autodiscover (XML and JSON).
-- With EXIR_BENCH_CHECK=1 (run with -t1 -c1) it records each shape's first status and prints "CHECK name status".
-- done() prints one machine-readable line: RESULT requests duration_s req_per_s p50_ms p99_ms non2xx socket_errors

local host = "mail.contoso.com"
local browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"
local outlook = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)"
local session = "X-OWA-CANARY=tS9vK3mQ0Uu2bE5wR8yZ1aL4nP7cF6dG; ClientId=8A3F1B2C4D5E6F708192A3B4C5D6E7F8; " ..
  "cadata=7bQ2eX9kVfRz1sT3uW5yA8cD0gH2jK4mN6pQ8rS1tU3vW5xY7zA9; cadataTTL=NfF3xQ2w; UC=3e9b0c1d2f4a4b8c9d0e1f2a3b4c5d6e"

local soap = [[<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages">
  <soap:Header><t:RequestServerVersion Version="Exchange2016" /></soap:Header>
  <soap:Body>
    <m:FindItem Traversal="Shallow">
      <m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject" /><t:FieldURI FieldURI="item:DateTimeReceived" /></t:AdditionalProperties></m:ItemShape>
      <m:IndexedPageItemView MaxEntriesReturned="50" Offset="0" BasePoint="Beginning" />
      <m:ParentFolderIds><t:DistinguishedFolderId Id="inbox" /></m:ParentFolderIds>
    </m:FindItem>
  </soap:Body>
</soap:Envelope>]]

local autodiscover = [[<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>jdoe@contoso.com</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>]]

local owaJson = '{"__type":"GetItemJsonRequest:#Exchange","Header":{"__type":"JsonRequestHeaders:#Exchange",' ..
  '"RequestServerVersion":"Exchange2016"},"Body":{"__type":"GetItemRequest:#Exchange","ItemShape":{"__type":' ..
  '"ItemResponseShape:#Exchange","BaseShape":"IdOnly"},"ItemIds":[{"__type":"ItemId:#Exchange","Id":' ..
  '"AAMkADk3ZjA1YzIyLWI3NGQtNGE2Ny1iNmE2LTQ0ZWQ0MDM0MDk0MQBGAAAAAAA="}]}}'

-- MAPI/HTTP and ActiveSync bodies are binary; fixed bytes of a plausible size stand in for them.
local mapiBody = string.rep("\0\1\2\3\4\5\6\7MAPI", 24)
local wbxml = "\3\1\106\0\0\69\92\79\75\3" .. string.rep("\0\1\2", 40)

local shapes = {
  { "owa-get", "GET", "/owa/", { ["User-Agent"] = browser, ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
      ["Accept-Language"] = "en-US,en;q=0.9", ["Cookie"] = session } },
  { "owa-service", "POST", "/owa/service.svc?action=GetItem&EP=1&ID=-42&AC=1", { ["User-Agent"] = browser, ["Cookie"] = session,
      ["Content-Type"] = "application/json; charset=utf-8", ["Action"] = "GetItem", ["X-OWA-CANARY"] = "tS9vK3mQ0Uu2bE5wR8yZ1aL4nP7cF6dG",
      ["X-Requested-With"] = "XMLHttpRequest" }, owaJson },
  { "ews-soap", "POST", "/EWS/Exchange.asmx", { ["User-Agent"] = outlook, ["Content-Type"] = "text/xml; charset=utf-8",
      ["Authorization"] = "Basic Y29udG9zb1xqZG9lOlBhc3N3b3JkMQ==" }, soap },
  { "mapi-execute", "POST", "/mapi/emsmdb/?MailboxId=0c2b6f1e-3a4d-4b5c-8d9e-0f1a2b3c4d5e@contoso.com", { ["User-Agent"] = outlook,
      ["Content-Type"] = "application/mapi-http", ["X-RequestType"] = "Execute", ["X-ClientInfo"] = "{2F1A7C3E-5B9D-4E60-8A1B-3C5D7E9F1A2B}:42",
      ["X-RequestId"] = "{9E8D7C6B-5A4F-4E3D-2C1B-0A9F8E7D6C5B}:1234", ["X-ClientApplication"] = "Outlook/16.0.17029.20028",
      ["Cookie"] = "MapiContext=AAAAAAAAAAAAAA; MapiRouting=AAAAAAAAAAAAAAAAA; MapiSequence=17-LTuF8A==" }, mapiBody },
  { "activesync-sync", "POST", "/Microsoft-Server-ActiveSync?Cmd=Sync&User=jdoe&DeviceId=3B9F7C1A2D4E6F80&DeviceType=iPhone",
    { ["User-Agent"] = "Apple-iPhone15C2/2104.92", ["Content-Type"] = "application/vnd.ms-sync.wbxml", ["MS-ASProtocolVersion"] = "16.1",
      ["X-MS-PolicyKey"] = "1307199584", ["Authorization"] = "Basic Y29udG9zb1xqZG9lOlBhc3N3b3JkMQ==" }, wbxml },
  { "autodiscover-xml", "POST", "/Autodiscover/Autodiscover.xml", { ["User-Agent"] = outlook, ["Content-Type"] = "text/xml" }, autodiscover },
  { "autodiscover-json", "GET", "/autodiscover/autodiscover.json?Email=jdoe%40contoso.com&Protocol=ActiveSync&RedirectCount=1",
    { ["User-Agent"] = "Outlook-iOS/723.4027091.prod.iphone (4.2404.0)" } },
}

local requests = {}
local n = 0
local seen = 0
local check = os.getenv("EXIR_BENCH_CHECK") == "1"
report = ""

function init(args)
  for k, s in ipairs(shapes) do
    local headers = { ["Host"] = host }
    for name, value in pairs(s[4]) do headers[name] = value end
    requests[k] = wrk.format(s[2], s[3], headers, s[5])
  end
end

function request()
  -- The check picks the shape by responses seen, not by calls: wrk calls request() once before it sends anything.
  if check then return requests[seen % #requests + 1] end
  n = n % #requests + 1
  return requests[n]
end

if check then
  -- One connection, no pipelining: the next request goes out after the previous response.
  function response(status, headers, body)
    seen = seen + 1
    if seen <= #shapes then report = report .. "CHECK " .. shapes[seen][1] .. " " .. status .. "\n" end
  end
end

local threads = {}
function setup(thread) table.insert(threads, thread) end

function done(summary, latency, reqs)
  for _, t in ipairs(threads) do
    local r = t:get("report")
    if r and r ~= "" then io.write(r) end
  end
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format("RESULT %d %.2f %.1f %.3f %.3f %d %d\n", summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
