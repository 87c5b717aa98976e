"""TypeScript support: parsing, slots, facts and type expressions for .ts/.tsx sources."""
