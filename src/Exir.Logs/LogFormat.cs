namespace Exir.Logs;

/// <summary>The log families exir reads. Decided from the file's content; the path is only a hint.</summary>
public enum LogFormat
{
    /// <summary>IIS W3C extended log (space-separated, "#Fields:" header).</summary>
    IisW3c,
    /// <summary>Exchange HttpProxy log (CSV, one folder per protocol: Ecp, Owa, Autodiscover, ...).</summary>
    HttpProxy,
    /// <summary>Exchange ECP server log (TimeStamp,ServerName,EventId,EventData).</summary>
    EcpServer,
    /// <summary>Exchange OAB generator log.</summary>
    OabGenerator,
    /// <summary>Any other Exchange CSV log (EWS, ECP activity, CmdletInfra, ...).</summary>
    OtherExchange,
}

public static class LogFormatNames
{
    /// <summary>True for the comma-separated Exchange formats.</summary>
    public static bool IsExchangeCsv(this LogFormat format) => format != LogFormat.IisW3c;
}
