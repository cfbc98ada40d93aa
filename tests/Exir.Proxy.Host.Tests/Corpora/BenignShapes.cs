using System.Buffers.Binary;
using System.Net.Http.Headers;
using System.Text;
using Exir.Proxy.Host.Tests.Emulator;
using static Exir.Proxy.Host.Tests.Corpora.ClientShape;

namespace Exir.Proxy.Host.Tests.Corpora;

/// <summary>
/// Real client request shapes (Outlook for Windows and Mac, iOS and Android mail, browsers on OWA, the EWS Managed
/// API, BITS for the OAB) with the headers and bodies those clients send. A proxy must forward every one, headers
/// and body unchanged apart from hop-by-hop headers.
/// </summary>
public static class BenignShapes
{
    public const string Mailbox = "4f1c2d3e-1234-4abc-9def-0123456789ab@contoso.com";
    public const string OutlookUa = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)";
    public const string IPhoneUa = "Apple-iPhone14C2/2008.206";
    public const string AndroidUa = "Android-SAMSUNG-SM-G991B/101.400";
    public const string EdgeUa = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91";
    public const string EwsUa = "ExchangeServicesClient/15.00.0913.015";
    public const string MacOutlookUa = "MacOutlook/16.80.23121017 (Intelx64 Mac OS X 14.2.1 (Build 23C71))";
    public const string OwaCanary = "Xk3c8dWfT0yQm2vJ7pRsLw-Hc1p5bz_cCBmU7yEF3ZzOO9y2xKDfvQg5aJ1nL8tq0Wx3Yh4uA.";
    public const string OwaCookie = "ClientId=6C0B9A2F1E3D4C5B8A7F6E5D4C3B2A19; X-BackEndCookie=S-1-5-21-3623811015-3361044348-30300820-1105=u56Lnp2ejJqBzJ3Ny8/Hzc3SzsbIydLLz8bPq8/Gy8/Hxc/GxcvG; cadata=0Xq8kdQ3; X-OWA-CANARY=" + OwaCanary;

    /// <summary>jdoe's Basic credentials as the emulator knows them (mobile clients send Basic on every request).</summary>
    public static string BasicJdoe => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("jdoe@contoso.com:" + new EmulatorOptions().Users["jdoe"]));

    public static IReadOnlyList<ClientShape> All { get; } = Build();

    public static ClientShape Get(string name) => All.Single(s => s.Name == name);

    /// <summary>The shapes whose whole body is sent (every one but the 1 GB RPC_IN_DATA channel).</summary>
    public static IEnumerable<ClientShape> Complete => All.Where(s => s.DeclaredLength is null);

    private static List<ClientShape> Build()
    {
        var list = new List<ClientShape>();
        void Add(ClientShape s) => list.Add(s);

        // ---- Outlook MAPI/HTTP ----
        string[] MapiHeaders(string type, int seq, string? cookie) =>
        [
            "Content-Type: application/mapi-http",
            $"User-Agent: {OutlookUa}",
            $"X-RequestType: {type}",
            "X-ClientInfo: {2F94A2BF-A2E6-4CCC-BF98-B5F22C542226}:" + seq,
            "X-RequestId: {E2EA6713-7E83-4A0A-9E4E-6A2D2BD2D2B7}:" + seq,
            "X-ClientApplication: Outlook/16.0.17928.20114",
            "Accept: */*",
            "Cache-Control: no-cache",
            .. cookie is null ? Array.Empty<string>() : [$"Cookie: {cookie}"],
        ];
        Add(new("Outlook MAPI Connect", "POST", $"/mapi/emsmdb/?MailboxId={Mailbox}", H(MapiHeaders("Connect", 1, null)), MapiConnectBody()) { Auth = ShapeAuth.Ntlm });
        Add(new("Outlook MAPI Execute", "POST", $"/mapi/emsmdb/?MailboxId={Mailbox}",
            H(MapiHeaders("Execute", 2, "MapiContext=2e3c4d5f6a7b8c9d0e1f2a3b4c5d6e7f; MapiSequence=0-1")), MapiExecuteBody()) { Auth = ShapeAuth.Ntlm });
        Add(new("Outlook MAPI NotificationWait", "POST", $"/mapi/emsmdb/?MailboxId={Mailbox}",
            H(MapiHeaders("NotificationWait", 3, "MapiContext=2e3c4d5f6a7b8c9d0e1f2a3b4c5d6e7f; MapiSequence=0-2")), new byte[8]) { Auth = ShapeAuth.Ntlm });
        Add(new("Outlook MAPI NSPI Bind", "POST", $"/mapi/nspi/?MailboxId={Mailbox}",
            H(MapiHeaders("Bind", 4, "X-BackEndCookie=S-1-5-21-3623811015-3361044348-30300820-1105=u56Lnp2ejJqBzJ3Ny8/Hzc3SzsbIydLLz8bP")), NspiBindBody()) { Auth = ShapeAuth.Ntlm });

        // ---- Outlook Anywhere (RPC over HTTP) ----
        string[] rpc = ["Accept: application/rpc", "User-Agent: MSRPC", "Cache-Control: no-cache", "Pragma: no-cache", "Connection: Keep-Alive"];
        Add(new("Outlook Anywhere RPC_IN_DATA", "RPC_IN_DATA", "/rpc/rpcproxy.dll?exch01.contoso.com:6001", H(rpc), RtsConnB1()) { Auth = ShapeAuth.Ntlm, DeclaredLength = 1L << 30 });
        Add(new("Outlook Anywhere RPC_OUT_DATA", "RPC_OUT_DATA", "/rpc/rpcproxy.dll?exch01.contoso.com:6001", H(rpc), RtsConnA1()) { Auth = ShapeAuth.Ntlm });

        // ---- ActiveSync ----
        string[] Eas(string ua, string version, string? policy) =>
        [
            "Content-Type: application/vnd.ms-sync.wbxml",
            $"MS-ASProtocolVersion: {version}",
            .. policy is null ? Array.Empty<string>() : [$"X-MS-PolicyKey: {policy}"],
            $"User-Agent: {ua}",
            "Accept: */*",
            "Accept-Language: en-US",
            "Accept-Encoding: gzip, deflate, br",
            $"Authorization: {BasicJdoe}",
        ];
        Add(new("iPhone ActiveSync Sync", "POST", "/Microsoft-Server-ActiveSync?Cmd=Sync&User=jdoe%40contoso.com&DeviceId=ApplDNPXK1234567&DeviceType=iPhone",
            H(Eas(IPhoneUa, "16.1", "1307199584")), Wbxml.SyncRequest("1587430611", "5")) { Auth = ShapeAuth.Basic });
        Add(new("iPhone ActiveSync Ping", "POST", "/Microsoft-Server-ActiveSync?Cmd=Ping&User=jdoe%40contoso.com&DeviceId=ApplDNPXK1234567&DeviceType=iPhone",
            H(Eas(IPhoneUa, "16.1", "1307199584")), Wbxml.PingRequest(1680)) { Auth = ShapeAuth.Basic });
        Add(new("Android ActiveSync FolderSync", "POST", "/Microsoft-Server-ActiveSync?Cmd=FolderSync&User=jdoe&DeviceId=SEC1A2B3C4D5E6F7&DeviceType=SAMSUNGSMG991B",
            H(Eas(AndroidUa, "14.1", "3942819265")), Wbxml.FolderSyncRequest("0")) { Auth = ShapeAuth.Basic });
        Add(new("iPhone ActiveSync OPTIONS", "OPTIONS", "/Microsoft-Server-ActiveSync",
            H($"User-Agent: {IPhoneUa}", "Accept: */*", "Accept-Language: en-US", $"Authorization: {BasicJdoe}", "MS-ASProtocolVersion: 14.0"), []) { Auth = ShapeAuth.Basic });
        Add(new("ActiveSync base64 query Sync", "POST", "/Microsoft-Server-ActiveSync?" + ActiveSyncShapes.Base64Query(0, "ApplDNPXK1234567", "iPhone"),
            H("Content-Type: application/vnd.ms-sync.wbxml", $"User-Agent: {IPhoneUa}", $"Authorization: {BasicJdoe}"), Wbxml.SyncRequest("1587430612", "5")) { Auth = ShapeAuth.Basic });

        // ---- EWS ----
        Add(new("EWS Managed API FindItem", "POST", "/EWS/Exchange.asmx",
            H("Content-Type: text/xml; charset=utf-8", "Accept: text/xml", $"User-Agent: {EwsUa}", "Accept-Encoding: gzip,deflate", "X-AnchorMailbox: jdoe@contoso.com"),
            Encoding.UTF8.GetBytes(EwsShapes.FindItem)) { Auth = ShapeAuth.Ntlm });
        Add(new("Outlook for Mac EWS GetFolder", "POST", "/EWS/Exchange.asmx",
            H("Content-Type: text/xml; charset=utf-8", $"User-Agent: {MacOutlookUa}", "SOAPAction: \"http://schemas.microsoft.com/exchange/services/2006/messages/GetFolder\"", "Accept: */*", "Accept-Language: en-US", $"Authorization: {BasicJdoe}"),
            Encoding.UTF8.GetBytes(EwsShapes.GetFolder)) { Auth = ShapeAuth.Basic });
        Add(new("Outlook EWS SyncFolderItems", "POST", "/EWS/Exchange.asmx",
            H("Content-Type: text/xml; charset=utf-8", $"User-Agent: {OutlookUa}", "X-AnchorMailbox: jdoe@contoso.com", "client-request-id: 7b2d5a44-1e0f-4e5a-9f38-2a6b4c1d0e9f", "return-client-request-id: true"),
            Encoding.UTF8.GetBytes(EwsShapes.SyncFolderItems)) { Auth = ShapeAuth.Ntlm });

        // ---- OWA ----
        string[] browser = [$"User-Agent: {EdgeUa}", "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8", "Accept-Language: en-US,en;q=0.9", "Accept-Encoding: gzip, deflate, br", "Sec-Fetch-Dest: document", "Sec-Fetch-Mode: navigate", "Sec-Fetch-Site: none", "Upgrade-Insecure-Requests: 1"];
        Add(new("OWA start page", "GET", "/owa/", H(browser), []) { Auth = ShapeAuth.OwaForms });
        Add(new("OWA logon page", "GET", "/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0", H(browser), []));
        Add(new("OWA favicon", "GET", "/owa/auth/15.2.1544/themes/resources/favicon.ico", H($"User-Agent: {EdgeUa}", "Accept: image/avif,image/webp,*/*", "Referer: https://mail.contoso.com/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0"), []));
        var logonForm = "destination=https%3A%2F%2Fmail.contoso.com%2Fowa%2F&flags=4&forcedownlevel=0&username=contoso%5Cjdoe&password=" + Uri.EscapeDataString(new EmulatorOptions().Users["jdoe"]) + "&passwordText=&isUtf8=1";
        Add(new("OWA logon post", "POST", "/owa/auth.owa",
            H($"User-Agent: {EdgeUa}", "Content-Type: application/x-www-form-urlencoded", "Origin: https://mail.contoso.com", "Referer: https://mail.contoso.com/owa/auth/logon.aspx?url=https%3a%2f%2fmail.contoso.com%2fowa%2f&reason=0", "Cookie: PrivateComputer=true; PBack=0"),
            Encoding.ASCII.GetBytes(logonForm)) { Auth = ShapeAuth.OwaForms });
        Add(new("OWA service.svc GetOwaUserConfiguration", "POST", "/owa/service.svc?action=GetOwaUserConfiguration&UA=0",
            H(OwaShapes.ServiceHeaders("GetOwaUserConfiguration", 1)), Encoding.UTF8.GetBytes("{\"__type\":\"GetOwaUserConfigurationJsonRequest:#Exchange\",\"Header\":{\"__type\":\"JsonRequestHeaders:#Exchange\",\"RequestServerVersion\":\"Exchange2013\"}}")) { Auth = ShapeAuth.OwaForms });
        Add(new("OWA CreateAttachment upload", "POST", "/owa/service.svc?action=CreateAttachmentFromLocalFile&UA=0",
            H(OwaShapes.ServiceHeaders("CreateAttachmentFromLocalFile", 7)), OwaShapes.CreateAttachmentJson(OwaShapes.Attachment(400_000))) { Auth = ShapeAuth.OwaForms });
        Add(new("OWA GetFileAttachment", "GET", "/owa/service.svc/s/GetFileAttachment?id=AAMkADk0ZjE3NzZhLTk0YjgtNDNkZC1hZTk1LTAwZDU3ZTFhZWFiNgBGAAAAAAB%2BRmnbRvKBTbn%2FaSdUpDuKBwA%3D&X-OWA-CANARY=" + OwaCanary,
            H($"User-Agent: {EdgeUa}", "Accept: */*", $"Cookie: {OwaCookie}"), []) { Auth = ShapeAuth.OwaForms });
        Add(new("OWA shared mailbox", "GET", "/owa/shared@contoso.com/", H([.. browser, $"Cookie: {OwaCookie}"]), []) { Auth = ShapeAuth.OwaForms });

        // ---- Autodiscover ----
        Add(new("Outlook Autodiscover POX", "POST", "/Autodiscover/Autodiscover.xml",
            H("Content-Type: text/xml", $"User-Agent: {OutlookUa}", "X-MapiHttpCapability: 1", "X-AnchorMailbox: jdoe@contoso.com", "X-ClientCanHandle: Negotiate,ExHttpInfo", "Accept: */*"),
            Encoding.UTF8.GetBytes(AutodiscoverShapes.PoxRequest("jdoe@contoso.com"))) { Auth = ShapeAuth.Ntlm });
        Add(new("iOS Autodiscover mobilesync POX", "POST", "/autodiscover/autodiscover.xml",
            H("Content-Type: text/xml", "User-Agent: iOS/17.2.1 (21C66) dataaccessd/1.0", "Accept: */*", "Accept-Language: en-US", $"Authorization: {BasicJdoe}"),
            Encoding.UTF8.GetBytes(AutodiscoverShapes.MobileSyncRequest("jdoe@contoso.com"))) { Auth = ShapeAuth.Basic });
        Add(new("Outlook Autodiscover JSON v1.0", "GET", "/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=AutodiscoverV1&RedirectCount=1",
            H($"User-Agent: {OutlookUa}", "Accept: application/json", "X-AnchorMailbox: jdoe@contoso.com"), []));
        Add(new("Outlook mobile Autodiscover JSON EWS", "GET", "/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS",
            H("User-Agent: Outlook-iOS/2.0", "Accept: application/json"), []));
        Add(new("iOS Autodiscover JSON ActiveSync", "GET", "/autodiscover/autodiscover.json?Email=jdoe%40contoso.com&Protocol=ActiveSync&RedirectCount=1",
            H("User-Agent: iOS/17.2.1 (21C66) dataaccessd/1.0", "Accept: application/json"), []));

        // ---- OAB ----
        Add(new("Outlook OAB manifest", "GET", "/OAB/8f2f5c1e-1c2d-4e3f-9a8b-7c6d5e4f3a2b/oab.xml", H($"User-Agent: {OutlookUa}", "Accept: */*"), []) { Auth = ShapeAuth.Ntlm });
        Add(new("BITS OAB probe", "HEAD", "/OAB/8f2f5c1e-1c2d-4e3f-9a8b-7c6d5e4f3a2b/a0c9b1d2-e3f4-5678-9abc-def012345678-data-112.lzx",
            H("Accept: */*", "User-Agent: Microsoft BITS/7.8"), []) { Auth = ShapeAuth.Ntlm });
        Add(new("BITS OAB download", "GET", "/OAB/8f2f5c1e-1c2d-4e3f-9a8b-7c6d5e4f3a2b/a0c9b1d2-e3f4-5678-9abc-def012345678-data-112.lzx",
            H("Accept: */*", "Accept-Encoding: identity", "User-Agent: Microsoft BITS/7.8"), []) { Auth = ShapeAuth.Ntlm });
        return list;
    }

    // MS-OXCMAPIHTTP 2.2.4.1.1: UserDn (ASCII, NUL), Flags, DefaultCodePage, LcidSort, LcidString, AuxiliaryBufferSize.
    private static byte[] MapiConnectBody()
    {
        var dn = Encoding.ASCII.GetBytes("/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=0a1b2c3d4e5f4a5b8c9d0e1f2a3b4c5d-jdoe\0");
        var b = new byte[dn.Length + 20];
        dn.CopyTo(b, 0);
        var s = b.AsSpan(dn.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(s, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(s[4..], 1252);
        BinaryPrimitives.WriteUInt32LittleEndian(s[8..], 1033);
        BinaryPrimitives.WriteUInt32LittleEndian(s[12..], 1033);
        BinaryPrimitives.WriteUInt32LittleEndian(s[16..], 0);
        return b;
    }

    // 2.2.4.2.1: Flags, RopBufferSize, RopBuffer (RPC_HEADER_EXT + ROPs), MaxRopOut, AuxiliaryBufferSize.
    private static byte[] MapiExecuteBody()
    {
        byte[] rops = [0x0E, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x00];
        var ropBuffer = new byte[8 + rops.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(ropBuffer, 0x0000);             // Version
        BinaryPrimitives.WriteUInt16LittleEndian(ropBuffer.AsSpan(2), 0x0004);   // Last
        BinaryPrimitives.WriteUInt16LittleEndian(ropBuffer.AsSpan(4), (ushort)rops.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(ropBuffer.AsSpan(6), (ushort)rops.Length);
        rops.CopyTo(ropBuffer, 8);
        var b = new byte[16 + ropBuffer.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), (uint)ropBuffer.Length);
        ropBuffer.CopyTo(b, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(8 + ropBuffer.Length), 0x10008);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12 + ropBuffer.Length), 0);
        return b;
    }

    private static byte[] NspiBindBody()
    {
        var b = new byte[45];
        BinaryPrimitives.WriteUInt32LittleEndian(b, 0);          // Flags
        b[4] = 0xFF;                                             // HasState
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(9), 0x4E4);  // CodePage 1252
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(29), 0x409); // SortLocale
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(33), 0x409); // TemplateLocale
        return b;
    }

    // MS-RPCH: the CONN/B1 RTS PDU opening the IN channel (104 bytes) and CONN/A1 opening the OUT channel (76 bytes).
    private static byte[] RtsConnB1() => Rts(
        [Command(6, 1u), CookieCommand(0x11), CookieCommand(0x22), Command(4, 0x40000000u), Command(5, 300000u), AssociationGroup()]);

    private static byte[] RtsConnA1() => Rts([Command(6, 1u), CookieCommand(0x11), CookieCommand(0x33), Command(0, 0x10000u)]);

    private static byte[] Rts(byte[][] commands)
    {
        var length = 20 + commands.Sum(c => c.Length);
        var b = new byte[length];
        b[0] = 5; b[1] = 0; b[2] = 0x14; b[3] = 0x03;                       // version 5.0, rts, first+last
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(4), 0x10);       // data representation: little-endian, ASCII
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), (ushort)length);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(18), (ushort)commands.Length);
        var at = 20;
        foreach (var c in commands) { c.CopyTo(b, at); at += c.Length; }
        return b;
    }

    private static byte[] Command(uint type, uint value)
    {
        var c = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(c, type);
        BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(4), value);
        return c;
    }

    private static byte[] CookieCommand(byte seed)
    {
        var c = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(c, 3);
        for (var i = 4; i < 20; i++) c[i] = (byte)(seed + i * 7);
        return c;
    }

    private static byte[] AssociationGroup()
    {
        var c = CookieCommand(0x44);
        BinaryPrimitives.WriteUInt32LittleEndian(c, 0x0C);
        return c;
    }
}

public static class ActiveSyncShapes
{
    /// <summary>
    /// The base64 query form of MS-ASHTTP 2.2.1.1.1.1 (protocol version 141, command code, en-US, DeviceId, no
    /// policy key, DeviceType), percent-encoded for the URI as Windows Phone and Outlook clients sent it.
    /// </summary>
    public static string Base64Query(byte command, string deviceId, string deviceType)
    {
        var id = Encoding.ASCII.GetBytes(deviceId);
        var type = Encoding.ASCII.GetBytes(deviceType);
        byte[] b = [141, command, 0x09, 0x04, (byte)id.Length, .. id, 0, (byte)type.Length, .. type];
        return Uri.EscapeDataString(Convert.ToBase64String(b));
    }
}

public static class EwsShapes
{
    private const string Envelope = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n<soap:Envelope xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:m=\"http://schemas.microsoft.com/exchange/services/2006/messages\" xmlns:t=\"http://schemas.microsoft.com/exchange/services/2006/types\" xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">\r\n  <soap:Header>\r\n    <t:RequestServerVersion Version=\"Exchange2013_SP1\" />\r\n    <t:TimeZoneContext>\r\n      <t:TimeZoneDefinition Id=\"W. Europe Standard Time\" />\r\n    </t:TimeZoneContext>\r\n  </soap:Header>\r\n  <soap:Body>\r\n{0}\r\n  </soap:Body>\r\n</soap:Envelope>";

    public static string FindItem => string.Format(Envelope,
        "    <m:FindItem Traversal=\"Shallow\">\r\n      <m:ItemShape>\r\n        <t:BaseShape>IdOnly</t:BaseShape>\r\n        <t:AdditionalProperties>\r\n          <t:FieldURI FieldURI=\"item:Subject\" />\r\n          <t:FieldURI FieldURI=\"item:DateTimeReceived\" />\r\n        </t:AdditionalProperties>\r\n      </m:ItemShape>\r\n      <m:IndexedPageItemView MaxEntriesReturned=\"50\" Offset=\"0\" BasePoint=\"Beginning\" />\r\n      <m:ParentFolderIds>\r\n        <t:DistinguishedFolderId Id=\"inbox\" />\r\n      </m:ParentFolderIds>\r\n    </m:FindItem>");

    public static string GetFolder => string.Format(Envelope,
        "    <m:GetFolder>\r\n      <m:FolderShape>\r\n        <t:BaseShape>AllProperties</t:BaseShape>\r\n      </m:FolderShape>\r\n      <m:FolderIds>\r\n        <t:DistinguishedFolderId Id=\"msgfolderroot\" />\r\n      </m:FolderIds>\r\n    </m:GetFolder>");

    public static string SyncFolderItems => string.Format(Envelope,
        "    <m:SyncFolderItems>\r\n      <m:ItemShape>\r\n        <t:BaseShape>IdOnly</t:BaseShape>\r\n      </m:ItemShape>\r\n      <m:SyncFolderId>\r\n        <t:DistinguishedFolderId Id=\"calendar\" />\r\n      </m:SyncFolderId>\r\n      <m:SyncState>H4sIAAAAAAAEAO29B2AcSZYlJi9tynt/SvVK1+B0oQiAYBMk2JBAEOzBiM3mkuwdaUcjKasqgcplVmVdZhZAzO2dvPfee++999577733</m:SyncState>\r\n      <m:MaxChangesReturned>512</m:MaxChangesReturned>\r\n      <m:SyncScope>NormalItems</m:SyncScope>\r\n    </m:SyncFolderItems>");
}

public static class AutodiscoverShapes
{
    public static string PoxRequest(string email) =>
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request>" +
        $"<EMailAddress>{email}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>";

    public static string MobileSyncRequest(string email) =>
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/mobilesync/requestschema/2006\">\n  <Request>\n" +
        $"    <EMailAddress>{email}</EMailAddress>\n    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006</AcceptableResponseSchema>\n  </Request>\n</Autodiscover>\n";
}

public static class OwaShapes
{
    public static string[] ServiceHeaders(string action, int id) =>
    [
        $"User-Agent: {BenignShapes.EdgeUa}",
        "Accept: */*",
        "Content-Type: application/json; charset=utf-8",
        $"Action: {action}",
        $"X-OWA-ActionName: {action}",
        $"X-OWA-ActionId: {-id}",
        $"X-OWA-CANARY: {BenignShapes.OwaCanary}",
        "X-OWA-ClientBuildVersion: 15.2.1544.4",
        "X-OWA-CorrelationId: 8E1F07A4D3C84E0B9D9C5D2AF7E0B1C3_170356214512345",
        "X-Req-Source: Mail",
        "Origin: https://mail.contoso.com",
        "Referer: https://mail.contoso.com/owa/",
        $"Cookie: {BenignShapes.OwaCookie}",
    ];

    public static byte[] Attachment(int size)
    {
        var b = new byte[size];
        new Random(400).NextBytes(b);
        return b;
    }

    /// <summary>OWA's JSON body for an attachment upload: the file as base64 inside the request.</summary>
    public static byte[] CreateAttachmentJson(byte[] file) => Encoding.UTF8.GetBytes(
        "{\"__type\":\"CreateAttachmentJsonRequest:#Exchange\",\"Header\":{\"__type\":\"JsonRequestHeaders:#Exchange\",\"RequestServerVersion\":\"Exchange2013\"},\"Body\":{\"__type\":\"CreateAttachmentRequest:#Exchange\"," +
        "\"ParentItemId\":{\"__type\":\"ItemId:#Exchange\",\"Id\":\"AAMkADk0ZjE3NzZhLTk0YjgtNDNkZC1hZTk1LTAwZDU3ZTFhZWFiNgBGAAAAAAB+RmnbRvKBTbn/aSdUpDuKBwA=\",\"ChangeKey\":\"CQAAABYAAAA=\"}," +
        "\"Attachments\":[{\"__type\":\"FileAttachment:#Exchange\",\"Name\":\"Quarterly report.pdf\",\"ContentType\":\"application/pdf\",\"IsInline\":false,\"Content\":\"" + Convert.ToBase64String(file) + "\"}]," +
        "\"RequireImageType\":false,\"IncludeContentIdInResponse\":false,\"ClientSupportsIrm\":true,\"CancellationId\":null}}");

    /// <summary>The forms logon as a browser posts it.</summary>
    public static HttpRequestMessage LogonPost(string user, string password)
    {
        var form = "destination=https%3A%2F%2Fmail.contoso.com%2Fowa%2F&flags=4&forcedownlevel=0&username=" + Uri.EscapeDataString(user) +
                   "&password=" + Uri.EscapeDataString(password) + "&passwordText=&isUtf8=1";
        var m = new HttpRequestMessage(HttpMethod.Post, "/owa/auth.owa") { Content = new StringContent(form, Encoding.ASCII) };
        m.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        m.Headers.UserAgent.ParseAdd(BenignShapes.EdgeUa);
        return m;
    }

    /// <summary>An attachment upload with the session's cookies and (when not empty) the canary header.</summary>
    public static HttpRequestMessage CreateAttachment(string cookieHeader, string canary, byte[] file)
    {
        var m = new HttpRequestMessage(HttpMethod.Post, "/owa/service.svc?action=CreateAttachmentFromLocalFile&UA=0") { Content = new ByteArrayContent(CreateAttachmentJson(file)) };
        m.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=utf-8");
        m.Headers.Add("Action", "CreateAttachmentFromLocalFile");
        m.Headers.Add("X-OWA-ActionName", "CreateAttachmentFromLocalFile");
        if (canary.Length > 0) m.Headers.Add("X-OWA-CANARY", canary);
        m.Headers.Add("Cookie", cookieHeader);
        return m;
    }
}
