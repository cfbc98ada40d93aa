namespace Exir.Knowledge.Remote;

/// <summary>Runs the remote check over many hosts at once, at most N in flight, results in input order.</summary>
public static class FleetRunner
{
    public static async Task<IReadOnlyList<RemoteCheckResult>> RunAsync(RemoteChecker checker, IReadOnlyList<string> hosts, int maxConcurrency,
        bool runProbes = true, CancellationToken cancellationToken = default)
    {
        var results = new RemoteCheckResult[hosts.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, hosts.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, maxConcurrency), CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                try
                {
                    results[i] = await checker.CheckAsync(hosts[i], runProbes, ct).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One broken host never stops the fleet.
                    results[i] = new RemoteCheckResult { Host = hosts[i], Error = "check failed: " + e.Message };
                }
            }).ConfigureAwait(false);
        return results;
    }

    /// <summary>
    /// Reads a host list: one host or URL per line, or CSV whose header names a host/hostname/server/
    /// fqdn/url column (else the first column). Blank lines and '#' comments are skipped; duplicates kept once.
    /// </summary>
    public static IReadOnlyList<string> ReadHostList(TextReader reader)
    {
        var hosts = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        int column = -1;
        bool first = true;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            line = line.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            string value;
            if (line.Contains(',') || line.Contains(';'))
            {
                var cells = line.Split(line.Contains(',') ? ',' : ';').Select(c => c.Trim().Trim('"').Trim()).ToArray();
                if (first)
                {
                    first = false;
                    column = Array.FindIndex(cells, c => c.ToLowerInvariant() is "host" or "hostname" or "server" or "fqdn" or "url" or "name");
                    if (column >= 0) continue;
                    column = 0;
                }
                value = column < cells.Length ? cells[Math.Max(column, 0)] : "";
            }
            else
            {
                first = false;
                value = line;
            }
            if (value.Length > 0 && seen.Add(value)) hosts.Add(value);
        }
        return hosts;
    }
}
