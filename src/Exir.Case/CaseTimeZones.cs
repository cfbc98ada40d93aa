namespace Exir.Case;

/// <summary>The case's time zones (IANA ids, or Windows ids on Windows): one lookup for `case set --tz` and the deadline clock.</summary>
public static class CaseTimeZones
{
    /// <summary>Finds a zone by id; false (never an exception) when the id is unknown, refused by the platform or its data is damaged.</summary>
    public static bool TryFind(string? id, out TimeZoneInfo zone)
    {
        zone = TimeZoneInfo.Utc;
        if (string.IsNullOrWhiteSpace(id)) return false;
        if (id.Trim().Equals("UTC", StringComparison.OrdinalIgnoreCase)) return true;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id.Trim());
            return true;
        }
        // The id is case data (any text): not found, a damaged tzdata file, or an id the platform refuses.
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException or IOException
                                      or UnauthorizedAccessException or System.Security.SecurityException)
        {
            return false;
        }
    }
}
