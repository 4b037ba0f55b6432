pub fn x(){}
pub mod gazetteer;
