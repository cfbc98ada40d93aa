namespace Exir.Proxy.Host.Tests.Emulator;

/// <summary>Small WBXML documents of ActiveSync (version 1.3, public id 1, UTF-8, no string table).</summary>
public static class Wbxml
{
    // Header 03 01 6A 00, SWITCH_PAGE 00 <page>, tags with content (0x40), STR_I 03 ... 00, END 01.

    /// <summary>Ping (page 13) Status 1: the heartbeat expired with no changes.</summary>
    public static readonly byte[] PingExpired = [0x03, 0x01, 0x6A, 0x00, 0x00, 0x0D, 0x45, 0x47, 0x03, 0x31, 0x00, 0x01, 0x01];
    /// <summary>Sync (AirSync page 0) Status 1.</summary>
    public static readonly byte[] SyncOk = [0x03, 0x01, 0x6A, 0x00, 0x00, 0x00, 0x45, 0x4E, 0x03, 0x31, 0x00, 0x01, 0x01];
    /// <summary>FolderSync (FolderHierarchy page 7) Status 1, SyncKey 1.</summary>
    public static readonly byte[] FolderSyncOk = [0x03, 0x01, 0x6A, 0x00, 0x00, 0x07, 0x56, 0x4C, 0x03, 0x31, 0x00, 0x01, 0x52, 0x03, 0x31, 0x00, 0x01, 0x01];

    /// <summary>A Ping request: HeartbeatInterval (seconds) over the Inbox folder.</summary>
    public static byte[] PingRequest(int heartbeatSeconds, string folderId = "5") =>
    [
        0x03, 0x01, 0x6A, 0x00, 0x00, 0x0D,
        0x45,                                   // <Ping>
        0x48, 0x03, .. System.Text.Encoding.ASCII.GetBytes(heartbeatSeconds.ToString()), 0x00, 0x01, // <HeartbeatInterval>
        0x49,                                   // <Folders>
        0x4A,                                   // <Folder>
        0x4B, 0x03, .. System.Text.Encoding.ASCII.GetBytes(folderId), 0x00, 0x01, // <Id>
        0x4C, 0x03, (byte)'E', (byte)'m', (byte)'a', (byte)'i', (byte)'l', 0x00, 0x01, // <Class>Email
        0x01, 0x01, 0x01,
    ];

    /// <summary>A Sync request for one collection with a sync key.</summary>
    public static byte[] SyncRequest(string syncKey, string collectionId) =>
    [
        0x03, 0x01, 0x6A, 0x00, 0x00, 0x00,
        0x45,                                   // <Sync>
        0x5C,                                   // <Collections>
        0x4F,                                   // <Collection>
        0x4B, 0x03, .. System.Text.Encoding.ASCII.GetBytes(syncKey), 0x00, 0x01,       // <SyncKey>
        0x52, 0x03, .. System.Text.Encoding.ASCII.GetBytes(collectionId), 0x00, 0x01,  // <CollectionId>
        0x01, 0x01, 0x01,
    ];

    /// <summary>A FolderSync request with a sync key ("0" on first sync).</summary>
    public static byte[] FolderSyncRequest(string syncKey) =>
        [0x03, 0x01, 0x6A, 0x00, 0x00, 0x07, 0x56, 0x52, 0x03, .. System.Text.Encoding.ASCII.GetBytes(syncKey), 0x00, 0x01, 0x01];
}
