"""Console views, one module per page. Thin: access decorator, read or enqueue, render a fragment."""
