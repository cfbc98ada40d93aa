namespace Exir.Proxy.Host; internal static class Placeholder { }
