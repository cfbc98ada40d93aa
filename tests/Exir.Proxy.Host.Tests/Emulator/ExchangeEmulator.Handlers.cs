using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Exir.Proxy.Host.Tests.Emulator;

public sealed partial class ExchangeEmulator
{
    private async Task DispatchAsync(HttpContext ctx, RecordedRequest rec)
    {
        var path = ctx.Request.Path.Value ?? "/";
        var lower = path.ToLowerInvariant();
        var first = lower.TrimStart('/').Split('/', 2)[0];
        switch (first)
        {
            case "ews": await AuthenticatedAsync(ctx, rec, basic: true, EwsAsync); break;
            case "mapi": await AuthenticatedAsync(ctx, rec, basic: false, MapiAsync); break;
            case "rpc": await AuthenticatedAsync(ctx, rec, basic: false, RpcAsync); break;
            case "microsoft-server-activesync": await AuthenticatedAsync(ctx, rec, basic: true, ActiveSyncAsync); break;
            case "autodiscover" when lower.StartsWith("/autodiscover/autodiscover.json", StringComparison.Ordinal):
                await ReadBodyAsync(ctx, rec);
                await AutodiscoverJsonAsync(ctx, rec, lower);
                break;
            case "autodiscover": await AuthenticatedAsync(ctx, rec, basic: true, AutodiscoverXmlAsync); break;
            case "oab": await AuthenticatedAsync(ctx, rec, basic: false, OabAsync); break;
            case "powershell": await AuthenticatedAsync(ctx, rec, basic: false, PowerShellAsync); break;
            case "owa": if (await ReadBodyAsync(ctx, rec) is { } owaBody) await OwaAsync(ctx, rec, lower, owaBody); break;
            case "ecp": if (await ReadBodyAsync(ctx, rec) is not null) await EcpAsync(ctx, rec); break;
            default:
                if (await ReadBodyAsync(ctx, rec) is not null) await NotFoundAsync(ctx);
                break;
        }
    }

    private delegate Task Handler(HttpContext ctx, RecordedRequest rec, string user, byte[] body);

    private async Task AuthenticatedAsync(HttpContext ctx, RecordedRequest rec, bool basic, Handler handler)
    {
        var user = await AuthenticateAsync(ctx, rec, basic);
        if (user is null) return;
        SetUser(ctx, rec, user.Length == 0 ? null : user);
        var body = await ReadBodyAsync(ctx, rec);
        if (body is null) return;
        await handler(ctx, rec, user, body);
    }

    private static Task NotFoundAsync(HttpContext ctx)
    {
        ctx.Response.StatusCode = 404;
        ctx.Response.ContentType = "text/html";
        return ctx.Response.WriteAsync("<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\"><html><head><title>404 - File or directory not found.</title></head><body><div id=\"header\"><h1>Server Error</h1></div><div id=\"content\"><h2>404 - File or directory not found.</h2><h3>The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.</h3></div></body></html>");
    }

    private static async Task WriteAsync(HttpContext ctx, RecordedRequest rec, byte[] bytes)
    {
        await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted);
        rec.AddResponseBytes(bytes.Length);
    }

    private static async Task WriteFlushAsync(HttpContext ctx, RecordedRequest rec, string text)
    {
        await WriteAsync(ctx, rec, Encoding.ASCII.GetBytes(text));
        await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
    }

    // ---- EWS ----------------------------------------------------------------------------------------------------

    [GeneratedRegex(@"<(?:\w+:)?Body\b[^>]*>\s*<(?:\w+:)?(\w+)", RegexOptions.CultureInvariant)]
    private static partial Regex SoapOperation();

    private static async Task EwsAsync(HttpContext ctx, RecordedRequest rec, string user, byte[] body)
    {
        if (HttpMethods.IsGet(ctx.Request.Method))
        {
            ctx.Response.ContentType = "text/html; charset=utf-8";
            await ctx.Response.WriteAsync("<html><body>You have created a service.</body></html>");
            return;
        }
        var op = SoapOperation().Match(Encoding.UTF8.GetString(body)) is { Success: true } m ? m.Groups[1].Value : null;
        if (op is null)
        {
            ctx.Response.StatusCode = 500;
            ctx.Response.ContentType = "text/xml; charset=utf-8";
            await ctx.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>The request failed schema validation.</faultstring></s:Fault></s:Body></s:Envelope>");
            return;
        }
        ctx.Response.ContentType = "text/xml; charset=utf-8";
        await ctx.Response.WriteAsync(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Header>" +
            "<h:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"2\" MajorBuildNumber=\"1544\" MinorBuildNumber=\"4\" Version=\"V2017_07_11\" xmlns:h=\"http://schemas.microsoft.com/exchange/services/2006/types\"/>" +
            $"</s:Header><s:Body><m:{op}Response xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\">" +
            $"<m:ResponseMessages><m:{op}ResponseMessage ResponseClass=\"Success\"><m:ResponseCode>NoError</m:ResponseCode></m:{op}ResponseMessage></m:ResponseMessages>" +
            $"</m:{op}Response></s:Body></s:Envelope>");
    }

    // ---- MAPI/HTTP ------------------------------------------------------------------------------------------------

    private async Task MapiAsync(HttpContext ctx, RecordedRequest rec, string user, byte[] body)
    {
        if (!HttpMethods.IsPost(ctx.Request.Method))
        {
            ctx.Response.ContentType = "text/html";
            await ctx.Response.WriteAsync("<html><body>Exchange MAPI/HTTP Connectivity Endpoint<br><br>Version: 15.2.1544.4<br>Vdir Path: /mapi/emsmdb/<br><br><b>User:</b> " + user + "<br></body></html>");
            return;
        }
        var requestType = ctx.Request.Headers["X-RequestType"].ToString();
        ctx.Response.Headers["X-RequestId"] = ctx.Request.Headers["X-RequestId"].ToString();
        ctx.Response.Headers["X-ClientInfo"] = ctx.Request.Headers["X-ClientInfo"].ToString();
        ctx.Response.Headers["X-RequestType"] = requestType;
        ctx.Response.Headers["X-ServerApplication"] = "Exchange/15.02.1544.004";
        if (requestType.Length == 0)
        {
            ctx.Response.StatusCode = 400;
            ctx.Response.Headers["X-ResponseCode"] = "4"; // invalid request type
            return;
        }
        var interval = Options.MapiPendingInterval;
        var count = Options.MapiPendingCount;
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "application/mapi-http";
        ctx.Response.Headers.CacheControl = "private";
        ctx.Response.Headers["X-ResponseCode"] = "0";
        ctx.Response.Headers["X-PendingPeriod"] = ((int)interval.TotalMilliseconds).ToString();
        if (requestType.Equals("Connect", StringComparison.OrdinalIgnoreCase) || requestType.Equals("Bind", StringComparison.OrdinalIgnoreCase))
            ctx.Response.Headers.SetCookie = new[] { $"MapiContext={Guid.NewGuid():N}; path=/mapi/emsmdb/; secure; HttpOnly", "MapiSequence=0-1; path=/mapi/emsmdb/; secure; HttpOnly" };
        var clock = Stopwatch.StartNew();
        await ctx.Response.StartAsync(ctx.RequestAborted);
        await WriteFlushAsync(ctx, rec, "PROCESSING\r\n");
        for (var i = 0; i < count; i++)
        {
            await Task.Delay(interval, ctx.RequestAborted);
            await WriteFlushAsync(ctx, rec, "PENDING\r\n");
        }
        var payload = MapiPayload(requestType, body);
        await WriteFlushAsync(ctx, rec, $"DONE\r\nX-ResponseCode: 0\r\nX-ElapsedTime: {clock.ElapsedMilliseconds}\r\nX-StartTime: {rec.ReceivedAt:R}\r\n\r\n");
        await WriteAsync(ctx, rec, payload);
    }

    /// <summary>A deterministic response body: the request type and the SHA-256 of the request body, padded.</summary>
    public static byte[] MapiPayload(string requestType, byte[] requestBody)
    {
        var text = $"{requestType}:{Convert.ToHexStringLower(SHA256.HashData(requestBody))}";
        var bytes = new byte[256];
        Encoding.ASCII.GetBytes(text).CopyTo(bytes, 0);
        return bytes;
    }

    // ---- RPC over HTTP --------------------------------------------------------------------------------------------

    private async Task RpcAsync(HttpContext ctx, RecordedRequest rec, string user, byte[] body)
    {
        switch (ctx.Request.Method)
        {
            case "RPC_IN_DATA":
                // The body (up to 1 GB) was read as it came; the answer only ends the channel.
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentLength = 0;
                return;
            case "RPC_OUT_DATA":
            {
                var total = Options.RpcOutContentLength;
                var chunk = new byte[Options.RpcOutChunkSize];
                ctx.Response.StatusCode = 200;
                ctx.Response.ContentType = "application/rpc";
                ctx.Response.ContentLength = total;
                ctx.Response.Headers.CacheControl = "no-cache";
                ctx.Response.Headers.Pragma = "no-cache";
                await ctx.Response.StartAsync(ctx.RequestAborted);
                long sent = 0;
                byte fill = 0;
                while (sent < total && !ctx.RequestAborted.IsCancellationRequested)
                {
                    var n = (int)Math.Min(chunk.Length, total - sent);
                    Array.Fill(chunk, fill++, 0, n);
                    await ctx.Response.Body.WriteAsync(chunk.AsMemory(0, n), ctx.RequestAborted);
                    await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                    rec.AddResponseBytes(n);
                    sent += n;
                    await Task.Delay(Options.RpcOutChunkInterval, ctx.RequestAborted);
                }
                return;
            }
            default:
                ctx.Response.StatusCode = 405;
                ctx.Response.Headers.Allow = "RPC_IN_DATA, RPC_OUT_DATA";
                return;
        }
    }

    // ---- ActiveSync -----------------------------------------------------------------------------------------------

    public const string ProtocolVersions = "2.0,2.1,2.5,12.0,12.1,14.0,14.1,16.0,16.1";
    public const string ProtocolCommands = "Sync,SendMail,SmartForward,SmartReply,GetAttachment,GetHierarchy,CreateCollection,DeleteCollection,MoveCollection,FolderSync,FolderCreate,FolderDelete,FolderUpdate,MoveItems,GetItemEstimate,MeetingResponse,Search,Settings,Ping,ItemOperations,Provision,ResolveRecipients,ValidateCert,Find";

    private async Task ActiveSyncAsync(HttpContext ctx, RecordedRequest rec, string user, byte[] body)
    {
        ctx.Response.Headers["MS-Server-ActiveSync"] = "15.20";
        if (HttpMethods.IsOptions(ctx.Request.Method))
        {
            ctx.Response.Headers.Allow = "OPTIONS,POST";
            ctx.Response.Headers["Public"] = "OPTIONS,POST";
            ctx.Response.Headers["MS-ASProtocolVersions"] = ProtocolVersions;
            ctx.Response.Headers["MS-ASProtocolCommands"] = ProtocolCommands;
            ctx.Response.ContentLength = 0;
            return;
        }
        if (!HttpMethods.IsPost(ctx.Request.Method))
        {
            ctx.Response.StatusCode = 501;
            return;
        }
        var command = ActiveSyncCommand(ctx.Request.QueryString.Value ?? "");
        ctx.Response.ContentType = "application/vnd.ms-sync.wbxml";
        switch (command?.ToLowerInvariant())
        {
            case "ping":
                await Task.Delay(Options.PingHold, ctx.RequestAborted);
                await WriteAsync(ctx, rec, Wbxml.PingExpired);
                break;
            case "sync": await WriteAsync(ctx, rec, Wbxml.SyncOk); break;
            case "foldersync": await WriteAsync(ctx, rec, Wbxml.FolderSyncOk); break;
            case null:
                ctx.Response.StatusCode = 400;
                ctx.Response.ContentType = null;
                break;
            default: ctx.Response.ContentLength = 0; break;
        }
    }

    private static readonly string[] AsCommandCodes =
    [
        "Sync", "SendMail", "SmartForward", "SmartReply", "GetAttachment", "GetHierarchy", "CreateCollection", "DeleteCollection",
        "MoveCollection", "FolderSync", "FolderCreate", "FolderDelete", "FolderUpdate", "MoveItems", "GetItemEstimate",
        "MeetingResponse", "Search", "Settings", "Ping", "ItemOperations", "Provision", "ResolveRecipients", "ValidateCert",
    ];

    /// <summary>The command of a plain (Cmd=...) or base64-encoded (MS-ASHTTP 2.2.1.1.1.1) ActiveSync query.</summary>
    public static string? ActiveSyncCommand(string queryString)
    {
        var query = queryString.TrimStart('?');
        if (query.Length == 0) return null;
        var parsed = QueryHelpers.ParseQuery("?" + query);
        if (parsed.TryGetValue("Cmd", out var cmd)) return cmd.ToString();
        try
        {
            var bytes = Convert.FromBase64String(Uri.UnescapeDataString(query));
            return bytes.Length >= 2 && bytes[1] < AsCommandCodes.Length ? AsCommandCodes[bytes[1]] : null;
        }
        catch (FormatException) { return null; }
    }

    // ---- Autodiscover ---------------------------------------------------------------------------------------------

    private static async Task AutodiscoverJsonAsync(HttpContext ctx, RecordedRequest rec, string lowerPath)
    {
        var query = ctx.Request.Query;
        var protocol = query["Protocol"].ToString();
        string? email = query["Email"].ToString();
        const string v1 = "/autodiscover/autodiscover.json/v1.0/";
        if (lowerPath.StartsWith(v1, StringComparison.Ordinal)) email = Uri.UnescapeDataString(ctx.Request.Path.Value![v1.Length..]);
        if (string.IsNullOrEmpty(email) || !email.Contains('@') || protocol.Length == 0)
        {
            ctx.Response.StatusCode = 400;
            ctx.Response.ContentType = "application/json; charset=utf-8";
            await ctx.Response.WriteAsync("{\"ErrorCode\":\"InvalidRequest\",\"ErrorMessage\":\"A valid email address and protocol must be provided.\"}");
            return;
        }
        var url = protocol.ToLowerInvariant() switch
        {
            "ews" => "https://mail.contoso.com/EWS/Exchange.asmx",
            "activesync" => "https://mail.contoso.com/Microsoft-Server-ActiveSync",
            "autodiscoverv1" => "https://mail.contoso.com/Autodiscover/Autodiscover.xml",
            "rest" => "https://mail.contoso.com/api",
            _ => null,
        };
        ctx.Response.ContentType = "application/json; charset=utf-8";
        if (url is null)
        {
            ctx.Response.StatusCode = 400;
            await ctx.Response.WriteAsync("{\"ErrorCode\":\"ProtocolNotSupported\",\"ErrorMessage\":\"The given protocol value is invalid.\"}");
            return;
        }
        await ctx.Response.WriteAsync($"{{\"Protocol\":\"{protocol}\",\"Url\":\"{url}\"}}");
    }

    [GeneratedRegex(@"<EMailAddress>([^<]+)</EMailAddress>", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex PoxEmail();

    private static async Task AutodiscoverXmlAsync(HttpContext ctx, RecordedRequest rec, string user, byte[] body)
    {
        if (!HttpMethods.IsPost(ctx.Request.Method))
        {
            // IIS answers a GET of Autodiscover.xml with error 600 (invalid request) in an XML body.
            ctx.Response.ContentType = "text/xml; charset=utf-8";
            await ctx.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\"><Response><Error><ErrorCode>600</ErrorCode><Message>Invalid Request</Message></Error></Response></Autodiscover>");
            return;
        }
        var email = PoxEmail().Match(Encoding.UTF8.GetString(body)) is { Success: true } m ? m.Groups[1].Value : $"{user}@contoso.com";
        ctx.Response.ContentType = "text/xml; charset=utf-8";
        await ctx.Response.WriteAsync(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">" +
            "<Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">" +
            $"<User><DisplayName>{user}</DisplayName><AutoDiscoverSMTPAddress>{email}</AutoDiscoverSMTPAddress></User>" +
            "<Account><AccountType>email</AccountType><Action>settings</Action><MicrosoftOnline>False</MicrosoftOnline>" +
            "<Protocol><OOFUrl>https://mail.contoso.com/EWS/Exchange.asmx</OOFUrl><Type>mapiHttp</Type>" +
            "<Internal><MailStore><InternalUrl>https://mail.contoso.com/mapi/emsmdb/?MailboxId=4f1c2d3e-1234-4abc-9def-0123456789ab@contoso.com</InternalUrl></MailStore></Internal>" +
            "<External><MailStore><ExternalUrl>https://mail.contoso.com/mapi/emsmdb/?MailboxId=4f1c2d3e-1234-4abc-9def-0123456789ab@contoso.com</ExternalUrl></MailStore></External></Protocol>" +
            "</Account></Response></Autodiscover>");
    }

    // ---- OAB, PowerShell, ECP -------------------------------------------------------------------------------------

    private async Task OabAsync(HttpContext ctx, RecordedRequest rec, string user, byte[] body)
    {
        var path = ctx.Request.Path.Value!;
        if (path.EndsWith("/oab.xml", StringComparison.OrdinalIgnoreCase))
        {
            ctx.Response.ContentType = "text/xml";
            await ctx.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><OAB><OAL id=\"/\" dn=\"/\" name=\"\\Global Address List\"><Full seq=\"112\" ver=\"32\" size=\"262144\" uncompressedsize=\"1048576\" SHA=\"7a1f\">a0c9b1d2-e3f4-5678-9abc-def012345678-data-112.lzx</Full></OAL></OAB>");
            return;
        }
        if (path.EndsWith(".lzx", StringComparison.OrdinalIgnoreCase))
        {
            ctx.Response.ContentType = "application/octet-stream";
            var file = OabFile(Options.OabFileSize);
            ctx.Response.ContentLength = file.Length;
            await WriteAsync(ctx, rec, file);
            return;
        }
        await NotFoundAsync(ctx);
    }

    /// <summary>The OAB file's deterministic bytes (a test compares what it downloaded through a proxy).</summary>
    public static byte[] OabFile(int size)
    {
        var bytes = new byte[size];
        new Random(112).NextBytes(bytes);
        return bytes;
    }

    private static Task PowerShellAsync(HttpContext ctx, RecordedRequest rec, string user, byte[] body)
    {
        ctx.Response.ContentType = "application/soap+xml;charset=UTF-8";
        return ctx.Response.WriteAsync("<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Body/></s:Envelope>");
    }

    private async Task EcpAsync(HttpContext ctx, RecordedRequest rec)
    {
        if (OwaSessionOf(ctx) is not { } session)
        {
            Redirect(ctx, "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fecp%2f&reason=0");
            return;
        }
        SetUser(ctx, rec, session.User);
        ctx.Response.ContentType = "text/html; charset=utf-8";
        await ctx.Response.WriteAsync("<html><head><title>Exchange admin center</title></head><body></body></html>");
    }

    private static void Redirect(HttpContext ctx, string location)
    {
        ctx.Response.StatusCode = 302;
        ctx.Response.Headers.Location = location;
        ctx.Response.ContentLength = 0;
    }
}
