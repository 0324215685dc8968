//! The metric catalog, daily metrics, the tearsheet, funnels and the data
//! dictionary. Not built yet: issue 5.
