// A module whose top level throws (a missing dependency, a bad environment).
throw new Error('HRIS_API_TOKEN is not set');
