using Microsoft.Extensions.Logging;

namespace Exir.Proxy.Host;

/// <summary>
/// Requests Kestrel refuses while parsing them (bad request line, invalid method, obs-fold, oversized headers, both
/// Content-Length and Transfer-Encoding...) never reach the proxy's handler. Kestrel reports each one through its
/// "Microsoft.AspNetCore.Server.Kestrel.BadRequests" logger (event ConnectionBadRequest, with the connection id and
/// the exception that carries the status and the reason). This logging provider listens
/// to that event and nothing else, and hands it to the proxy (<see cref="ProxyServer"/> writes the access-log line and
/// the finding). Kestrel puts the offending bytes into the reason only when its general logger is enabled at
/// Information, so that is answered "enabled" too (its events are dropped).
/// </summary>
internal sealed class KestrelRefusals(Action<string, Microsoft.AspNetCore.Http.BadHttpRequestException> refused) : ILoggerProvider
{
    public const string BadRequests = "Microsoft.AspNetCore.Server.Kestrel.BadRequests";
    private const string Kestrel = "Microsoft.AspNetCore.Server.Kestrel";

    public ILogger CreateLogger(string categoryName) => categoryName switch
    {
        BadRequests => new Listener(refused),
        Kestrel => DetailsOnly.Instance,
        _ => Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
    };

    public void Dispose() { }

    private sealed class Listener(Action<string, Microsoft.AspNetCore.Http.BadHttpRequestException> refused) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not Microsoft.AspNetCore.Http.BadHttpRequestException bad || state is not IReadOnlyList<KeyValuePair<string, object?>> fields) return;
            foreach (var (key, value) in fields)
                if (key == "ConnectionId" && value is string id)
                {
                    refused(id, bad);
                    return;
                }
        }
    }

    private sealed class DetailsOnly : ILogger
    {
        public static readonly DetailsOnly Instance = new();
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) { }
    }
}
