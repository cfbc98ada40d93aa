using System.Runtime.Versioning;
using System.Xml;
using Exir.Core.Evidence;

namespace Exir.Detection.LocalServer;

/// <summary>What exir needs to know about the machine it runs on; Windows-only facts sit behind it so they can be tested on recorded inputs.</summary>
public interface IServerFacts
{
    string? ReadLocalMachineString(string subKey, string valueName);
    string? ReadTextFile(string path);
    string ExpandEnvironment(string text);
}

[SupportedOSPlatform("windows")]
public sealed class WindowsServerFacts : IServerFacts
{
    public string? ReadLocalMachineString(string subKey, string valueName)
    {
        using var key = Microsoft.Win32.Registry.LocalMachine.OpenSubKey(subKey, writable: false);
        return key?.GetValue(valueName) as string;
    }

    public string? ReadTextFile(string path)
    {
        try { return File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    public string ExpandEnvironment(string text) => Environment.ExpandEnvironmentVariables(text);
}

/// <summary>
/// Finds the evidence of the local Exchange server: the install folder from the registry
/// (HKLM\SOFTWARE\Microsoft\ExchangeServer\v15\Setup, MsiInstallPath), the IIS log folders from
/// applicationHost.config, the event logs, the web roots and the usual staging folders.
/// </summary>
public static class LocalExchangeServer
{
    public const string SetupKey = @"SOFTWARE\Microsoft\ExchangeServer\v15\Setup";
    public const string InstallValue = "MsiInstallPath";
    public const string DefaultIisLogs = @"%SystemDrive%\inetpub\logs\LogFiles";

    public static IReadOnlyList<string> EvidenceFolders(IServerFacts facts)
    {
        var folders = new List<string>();
        var install = facts.ReadLocalMachineString(SetupKey, InstallValue)
            ?? throw new EvidenceException($"no Exchange install found: HKLM\\{SetupKey}\\{InstallValue} is missing; give the evidence PATH");
        folders.Add(install);
        var config = facts.ReadTextFile(facts.ExpandEnvironment(@"%windir%\System32\inetsrv\config\applicationHost.config"));
        folders.AddRange(IisLogFolders(config).Select(facts.ExpandEnvironment));
        folders.Add(facts.ExpandEnvironment(@"%windir%\System32\winevt\Logs"));
        folders.Add(facts.ExpandEnvironment(@"%SystemDrive%\inetpub\wwwroot"));
        folders.Add(facts.ExpandEnvironment(@"%windir%\Temp"));
        folders.Add(facts.ExpandEnvironment(@"%ProgramData%"));
        folders.Add(facts.ExpandEnvironment(@"%SystemDrive%\root"));
        folders.Add(facts.ExpandEnvironment(@"%SystemDrive%\Users\Public"));
        return folders;
    }

    public static IEvidenceSource Open(IServerFacts facts) => new MultiRootEvidenceSource(EvidenceFolders(facts));

    /// <summary>Log folders from applicationHost.config: siteDefaults and each site's logFile directory (unexpanded).</summary>
    public static IReadOnlyList<string> IisLogFolders(string? applicationHostConfig)
    {
        var result = new List<string>();
        if (!string.IsNullOrWhiteSpace(applicationHostConfig))
        {
            try
            {
                var doc = new XmlDocument { XmlResolver = null };
                using var reader = XmlReader.Create(new StringReader(applicationHostConfig), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit });
                doc.Load(reader);
                var nodes = doc.SelectNodes("//sites/siteDefaults/logFile[@directory] | //sites/site/logFile[@directory]");
                if (nodes is not null)
                    foreach (XmlElement node in nodes)
                        result.Add(node.GetAttribute("directory"));
            }
            catch (XmlException) { }
        }
        if (result.Count == 0) result.Add(DefaultIisLogs);
        return result.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
    }
}
