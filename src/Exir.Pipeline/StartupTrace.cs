using System.Diagnostics;

namespace Exir.Pipeline;

/// <summary>
/// Where the fixed cost of a run goes: with EXIR_TIMINGS=1 every <see cref="Mark"/> prints the milliseconds since the
/// process started, the CPU time used so far, the assemblies loaded and the phase to stderr (docs/startup.md); with
/// EXIR_TIMINGS_ASSEMBLIES=1 also their names. Off, a mark costs one branch.
/// </summary>
public static class StartupTrace
{
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("EXIR_TIMINGS") is "1" or "true";

    public static void Mark(string phase)
    {
        if (!Enabled) return;
        using var self = Process.GetCurrentProcess();
        var wall = DateTime.Now - self.StartTime;
        Console.Error.WriteLine($"exir-timing: {wall.TotalMilliseconds,7:F1} ms wall {self.TotalProcessorTime.TotalMilliseconds,7:F1} ms cpu " +
                                $"{AppDomain.CurrentDomain.GetAssemblies().Length,3} assemblies  {phase}");
        if (Environment.GetEnvironmentVariable("EXIR_TIMINGS_ASSEMBLIES") is "1")
            foreach (var a in AppDomain.CurrentDomain.GetAssemblies()) Console.Error.WriteLine("exir-timing:   " + a.GetName().Name);
    }
}
