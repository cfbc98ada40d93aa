using System.Diagnostics;

namespace Exir.Pipeline;

/// <summary>
/// Where the fixed cost of a run goes: with EXIR_TIMINGS=1 every <see cref="Mark"/> prints the milliseconds since the
/// process started, the CPU time used so far and the phase to stderr (docs/startup.md). Off, a mark costs one branch.
/// </summary>
public static class StartupTrace
{
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("EXIR_TIMINGS") is "1" or "true";

    public static void Mark(string phase)
    {
        if (!Enabled) return;
        using var self = Process.GetCurrentProcess();
        var wall = DateTime.Now - self.StartTime;
        Console.Error.WriteLine($"exir-timing: {wall.TotalMilliseconds,7:F1} ms wall {self.TotalProcessorTime.TotalMilliseconds,7:F1} ms cpu  {phase}");
    }
}
